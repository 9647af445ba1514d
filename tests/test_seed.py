"""``python manage.py seed``: fast bulk demo data that tops up instead of piling up."""
import random
import re

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

import db_objects
from blueprints import search
from cli.seed import insert_rows, seed, set_answer_counts
from exts import db
from models import QuestionModel, utcnow
from tests.backends import database_unused, sqlite_only
from tests.data import add_questions, make_user


def counts(project):
    return {table: project.database.execute(f"SELECT COUNT(*) FROM {table}")[0][0]
            for table in ("user", "question", "answer")}


def test_seed_creates_demo_data_and_is_safe_to_run_twice(project):
    project.manage("db", "upgrade")
    first = project.manage("seed", "--users", "25", "--questions", "40", "--answers", "90")
    assert "users 25 added" in first.stdout and "questions 40 added" in first.stdout
    assert "password 'demo-password'" in first.stdout
    assert counts(project) == {"user": 25, "question": 40, "answer": 90}
    second = project.manage("seed", "--users", "25", "--questions", "40", "--answers", "90")
    assert "users 0 added" in second.stdout and "answers 0 added" in second.stdout
    assert counts(project) == {"user": 25, "question": 40, "answer": 90}
    # Larger counts top up.
    project.manage("seed", "--users", "25", "--questions", "50", "--answers", "90")
    assert counts(project)["question"] == 50

    users = project.database.rows("user")
    assert len({u["username"] for u in users}) == 25
    assert all(u["password_hash"].startswith("scrypt:") for u in users)
    questions = project.database.rows("question")
    assert any(re.search(r"[\u4e00-\u9fff]", q["title"]) for q in questions)
    # Answers come after their question.
    asked = {q["id"]: q["create_time"] for q in questions}
    assert all(a["create_time"] >= asked[a["question_id"]] for a in project.database.rows("answer"))


def test_seed_inserts_ten_thousand_questions_in_slices(project):
    """More rows than one INSERT slice holds (cli/seed.py's CHUNK); its speed is bench/'s."""
    project.manage("db", "upgrade")
    result = project.manage("seed", "--users", "50", "--questions", "10000", "--answers", "20000")
    assert re.search(r"^Seeded in [\d.]+ s: users 50 added \(50 demo in all\), questions 10000 "
                     r"added \(10000 demo in all\), answers 20000 added \(20000 demo in all\)$",
                     result.stdout, re.M)
    assert counts(project) == {"user": 50, "question": 10000, "answer": 20000}


def test_demo_users_can_log_in(project, app, site):
    # The in-process app and the project share the database.
    project.manage("seed", "--users", "2", "--questions", "1", "--answers", "1")
    response = site.login("demo1@example.com", "demo-password")
    assert response.status_code == 302


@pytest.mark.parametrize("args, message", [
    (["--users", "-1"], "Error: --users, --questions and --answers must be 0 or more"),
    (["--users", "0", "--questions", "5"], "Error: questions and answers need authors"),
    (["--users", "1", "--questions", "0", "--answers", "3"], "Error: answers need questions"),
])
def test_seed_refuses_impossible_counts(project, args, message):
    project.manage("db", "upgrade")
    result = project.manage("seed", *args, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(message) and "Traceback" not in result.stderr


@database_unused
def test_seed_with_a_word_for_a_number_is_a_usage_error(project):
    result = project.manage("seed", "--users", "many", check=False)
    assert result.returncode == 2 and "invalid int value" in result.stderr


def test_seed_refuses_production_with_one_line(project):
    project.manage("db", "upgrade")
    env = {"FLASK_CONFIG": "production", "SECRET_KEY": "s" * 64}
    result = project.manage("seed", "--users", "2", env=env, check=False)
    assert (result.returncode, result.stdout) == (1, "")
    # (Production also warns, in a JSON log line, that it has no mail queue.)
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "Error: seed writes demo accounts with the published password 'demo-password': it runs "
        "only with FLASK_CONFIG=development or testing (add --force to seed this database "
        "anyway)")
    assert counts(project) == {"user": 0, "question": 0, "answer": 0}


def test_seed_in_production_with_force(project):
    project.manage("db", "upgrade")
    env = {"FLASK_CONFIG": "production", "SECRET_KEY": "s" * 64}
    project.manage("seed", "--users", "2", "--questions", "1", "--answers", "0", "--force",
                   env=env)
    assert counts(project) == {"user": 2, "question": 1, "answer": 0}


def test_seed_gives_demo_users_names_nobody_has(project):
    """Usernames are unique as people read them: a real "Ann" keeps hers, the demo user
    that would have been "ann" is "ann-2"."""
    project.manage("db", "upgrade")
    project.database.execute(
        "INSERT INTO user (username, username_key, email, password_hash, join_time) "
        "VALUES ('Ann', 'ann', 'ann@real.example', 'x', '2026-01-01 00:00:00')")
    project.manage("seed", "--users", "2", "--questions", "0", "--answers", "0")
    assert [(u["username"], u["username_key"]) for u in project.database.rows("user")] == [
        ("Ann", "ann"), ("ann-2", "ann-2"), ("bo", "bo")]


def ids(database, query, params=None):
    return sorted(row[0] for row in database.execute(query, params))


def test_seeded_questions_are_numbered_in_time_order_and_counted(app, database):
    seed(4, 60, 150, random.Random(3))
    rows = database.execute("SELECT id, seq, create_time, answer_count FROM question ORDER BY seq")
    assert [row.seq for row in rows] == list(range(1, 61))
    assert [row.create_time for row in rows] == sorted(row.create_time for row in rows)
    answers = database.execute("SELECT question_id, seq FROM answer ORDER BY question_id, seq")
    per_question = {}
    for question_id, seq in answers:
        per_question.setdefault(question_id, []).append(seq)
    assert {row.id: list(range(1, row.answer_count + 1)) for row in rows} == {
        row.id: per_question.get(row.id, []) for row in rows}
    assert sum(row.answer_count for row in rows) == 150
    # A top-up adds answers to the questions already there, after their own.
    seed(4, 60, 400, random.Random(4))
    counted = dict(database.execute(
        "SELECT q.id, COUNT(a.id) FROM question AS q LEFT JOIN answer AS a "
        "ON a.question_id = q.id GROUP BY q.id"))
    assert dict(database.execute("SELECT id, answer_count FROM question")) == counted
    assert sum(counted.values()) == 400


def test_the_search_index_holds_exactly_the_seeded_questions(app, database):
    seed(4, 300, 0, random.Random(5))
    questions = ids(database, "SELECT id FROM question")
    assert len(questions) == 300
    if database.backend == "sqlite":
        # FTS5's own record of the rows it indexed, and its check against the question table.
        assert ids(database, "SELECT id FROM search_fts_docsize") == questions
        database.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)")
        # search_gram as the trigger's statement computes it from the same rows.
        database.execute("CREATE TABLE expected_gram (gram TEXT NOT NULL, question_id INTEGER "
                         "NOT NULL, PRIMARY KEY (gram, question_id)) WITHOUT ROWID")
        database.execute(db_objects.SEARCH_SQLITE[5].replace(
            "INTO search_gram", "INTO expected_gram"))
        expected = database.execute("SELECT gram, question_id FROM expected_gram")
        assert len(expected) > 300  # seeded titles have Chinese in them
        assert sorted(database.execute("SELECT gram, question_id FROM search_gram")) == sorted(
            expected)
    else:
        assert ids(database, "SELECT id FROM search_mroonga") == questions
        # The recent tier, refilled once at the end: all 300 are among the newest RECENT.
        assert db_objects.RECENT > 300
        assert ids(database, "SELECT id FROM search_recent") == questions
        # Its trigger stood aside on seed's connection only while seed inserted.
        assert db.session.execute(text("SELECT @qa_search_bulk_load")).scalar() is None


@pytest.mark.parametrize("word", ["paginate", "分页", "数据库", "乱码"])
def test_search_finds_every_seeded_question_with_the_word(app, database, word):
    seed(4, 400, 0, random.Random(6))
    expected = ids(database, "SELECT id FROM question WHERE title LIKE :w OR content LIKE :w",
                   {"w": f"%{word}%"})
    assert len(expected) > 10
    with db.engine.connect() as connection:
        found, more = search.search(connection, search.Terms(word), 1000)
    assert sorted(row.id for row in found) == expected and not more


def search_segments(database):
    """How many segments FTS5's index is in (search_fts_idx, its term index, has a row per
    segment and leaf page): a search reads each one."""
    return database.execute("SELECT COUNT(DISTINCT segid) FROM search_fts_idx")[0][0]


@sqlite_only
def test_seed_leaves_the_sqlite_search_index_in_one_segment(app, database):
    ann = make_user()
    for _ in range(3):  # a segment each: one transaction each, as the site writes them
        add_questions(ann, 1)
    assert search_segments(database) == 3
    seed(4, 50, 0, random.Random(8))
    assert search_segments(database) == 1
    database.execute("INSERT INTO search_fts (search_fts, rank) VALUES ('integrity-check', 1)")
    assert ids(database, "SELECT id FROM search_fts_docsize") == ids(
        database, "SELECT id FROM question")


@sqlite_only
def test_sqlite_grams_are_those_of_the_trigger(app, database):
    """db_objects.sqlite_grams, which the bulk load uses, against the trigger's statement."""
    ann = make_user()
    texts = [("分页", "x"), ("a中b文c", "数据库迁移"), ("全角　空格，标点。", "ｆｕｌｌ"),
             ("한국어 テスト", "🚀中🚀文"), ("\u2fff\u3000\u3001", "\ud7a3\ue000\ud7a3"),
             ("no CJK at all", "é ü ß"), ("末尾", "開始")]
    for title, content in texts:
        database.execute("INSERT INTO question (title, content, create_time, author_id) "
                         "VALUES (:t, :c, '2026-01-01 00:00:00', :a)",
                         {"t": title, "c": content, "a": ann.id})
    rows = database.execute("SELECT id, title, content FROM question ORDER BY id")
    by_trigger = database.execute("SELECT gram, question_id FROM search_gram")
    assert sorted(by_trigger) == sorted(
        (gram, row.id) for row in rows for gram in db_objects.sqlite_grams(
            f"{row.title}\n{row.content}"))
    assert db_objects.sqlite_grams("a中b文c\n数据") == {"中", "文", "数", "据", "数据"}
    assert db_objects.sqlite_grams("全角　空") == {"全", "角", "　", "空", "全角", "角　", "　空"}


@sqlite_only
def test_a_failed_bulk_insert_leaves_the_search_trigger_and_index_as_they_were(app, database):
    ann = make_user()
    (kept,) = add_questions(ann, 1, title="分页 kept")
    connection = db.session.connection()
    rows = [{"title": "分页 new", "content": "x", "author_id": ann.id, "create_time": utcnow()},
            {"title": None, "content": "x", "author_id": ann.id, "create_time": utcnow()}]
    with pytest.raises(IntegrityError):
        with db_objects.search_index_in_bulk(connection):
            insert_rows(connection, QuestionModel.__table__, rows)
    db.session.rollback()
    assert database.execute("SELECT sql FROM sqlite_master WHERE name = "
                            "'search_question_insert'")[0][0] == db_objects.SQLITE_SEARCH_INSERT
    assert ids(database, "SELECT id FROM question") == [kept.id]
    assert ids(database, "SELECT id FROM search_fts_docsize") == [kept.id]
    # The trigger indexes the next question as before.
    (later,) = add_questions(ann, 1, title="分页 later")
    assert ids(database, "SELECT question_id FROM search_gram WHERE gram = '分页'") == [
        kept.id, later.id]


def test_answer_counts_are_set_through_a_temporary_table_that_does_not_stay(app, database):
    ann = make_user()
    first, second, third = add_questions(ann, 3)
    connection = db.session.connection()
    with pytest.raises(IntegrityError):  # a count of None: the temporary table refuses it
        set_answer_counts(connection, {first.id: 4, second.id: None})
    db.session.rollback()
    connection = db.session.connection()
    set_answer_counts(connection, {first.id: 7, third.id: 2})
    set_answer_counts(connection, {second.id: 5})  # the same connection: the table was dropped
    db.session.commit()
    assert dict(database.execute("SELECT id, answer_count FROM question")) == {
        first.id: 7, second.id: 5, third.id: 2}
