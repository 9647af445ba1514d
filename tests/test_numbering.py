"""Triggers number questions and answers (seek pages) and index them for search, whoever writes."""
import random
import threading

from sqlalchemy import create_engine, text as sql

from cli.seed import seed
from models import AnswerModel, QuestionModel
from tests.data import add_questions, make_user

BEFORE = "5a3a41b2964b"  # the revision before the numbering (949dd11a1e1d)


def numbers(database):
    questions = database.execute("SELECT seq FROM question ORDER BY id")
    answers = database.execute("SELECT question_id, seq FROM answer ORDER BY id")
    counts = database.execute("SELECT id, answer_count FROM question ORDER BY id")
    return [q.seq for q in questions], answers, counts


def assert_dense(database):
    """Questions numbered 1..n in insertion order; each question's answers 1..k, k its count."""
    seqs, answers, counts = numbers(database)
    assert seqs == list(range(1, len(seqs) + 1))
    per_question = {}
    for question_id, seq in answers:
        per_question.setdefault(question_id, []).append(seq)
    for question_id, count in counts:
        assert per_question.get(question_id, []) == list(range(1, count + 1))


def test_every_writer_gets_numbered_rows(app, database):
    ann = make_user()
    add_questions(ann, 3, answers_each=2)  # the ORM
    database.execute("INSERT INTO question (title, content, create_time, author_id) "
                     "VALUES ('by hand', 'x', '2020-01-01 00:00:00', :a)", {"a": ann.id})
    database.execute("INSERT INTO answer (content, create_time, question_id, author_id) "
                     "VALUES ('by hand', '2020-01-01 00:00:00', 1, :a)", {"a": ann.id})
    seed(3, 20, 60, random.Random(1))  # executemany
    assert QuestionModel.query.count() == 24 and AnswerModel.query.count() == 67
    assert_dense(database)
    assert database.execute("SELECT answer_count FROM question WHERE id = 1")[0][0] == 3


def test_parallel_writers_never_share_a_number(app, database):
    ann = make_user()
    (question,) = add_questions(ann, 1)
    question_id, author_id = question.id, ann.id  # the threads have no app context
    errors = []

    def write(worker):
        engine = create_engine(database.url, connect_args=(
            {"timeout": 30} if database.backend == "sqlite" else {}))
        try:
            for i in range(15):
                with engine.begin() as conn:  # one transaction per row, as a request is
                    conn.execute(sql("INSERT INTO question (title, content, create_time, "
                                     "author_id) VALUES (:t, 'x', '2020-01-01', :a)"),
                                 {"t": f"w{worker} {i}", "a": author_id})
                    conn.execute(sql("INSERT INTO answer (content, create_time, question_id, "
                                     "author_id) VALUES ('x', '2020-01-01', :q, :a)"),
                                 {"q": question_id, "a": author_id})
        except Exception as exc:  # reported below, with the test's own assertion
            errors.append(exc)
        finally:
            engine.dispose()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert_dense(database)
    assert database.execute("SELECT answer_count FROM question WHERE id = :q",
                            {"q": question_id})[0][0] == 60


def test_upgrade_numbers_and_indexes_the_rows_already_there(project, database):
    project.manage("db", "upgrade", BEFORE)
    database.execute("INSERT INTO user (id, username, username_key, email, password_hash, "
                     "join_time) "
                     "VALUES (1, 'ann', 'ann', 'ann@example.com', 'x', '2020-01-01')"
                     .replace("INTO user", "INTO user" if database.backend == "sqlite"
                              else "INTO `user`"))
    # Ids out of time order: the list showed create_time order, and the numbers keep it.
    for id_, title, day in [(1, "Newest 如何分页", 3), (2, "Oldest paginate", 1), (3, "Middle", 2)]:
        database.execute("INSERT INTO question (id, title, content, create_time, author_id) "
                         "VALUES (:i, :t, 'x', :c, 1)", {"i": id_, "t": title, "c": f"2020-01-0{day}"})
    for id_, question_id in [(1, 3), (2, 1), (3, 3)]:
        database.execute("INSERT INTO answer (id, content, create_time, question_id, author_id) "
                         "VALUES (:i, 'x', '2020-01-05', :q, 1)", {"i": id_, "q": question_id})
    project.manage("db", "upgrade")
    assert database.execute("SELECT id, seq, answer_count FROM question ORDER BY seq") == [
        (2, 1, 0), (3, 2, 2), (1, 3, 1)]
    assert database.execute("SELECT id, seq FROM answer ORDER BY id") == [(1, 1), (2, 1), (3, 2)]
    assert searched(database, "paginate") == [2]
    assert searched(database, "分页") == [1]
    assert "Models match the migrations" in project.manage("db", "check").stdout
    project.manage("db", "downgrade", BEFORE, "--allow-data-loss")
    assert not {t for t in database.tables() if t.startswith("search_")}
    project.manage("db", "upgrade")
    assert searched(database, "分页") == [1]


def searched(database, word):
    if database.backend == "sqlite":
        if len(word) < 3:
            rows = database.execute("SELECT question_id FROM search_gram WHERE gram = :w",
                                    {"w": word})
        else:
            rows = database.execute("SELECT rowid FROM search_fts WHERE search_fts MATCH :w",
                                    {"w": f'"{word}"'})
    else:
        rows = database.execute("SELECT id FROM search_mroonga WHERE MATCH (title, content) "
                                "AGAINST (:w IN BOOLEAN MODE)", {"w": f'*D+ "{word}"'})
    return [row[0] for row in rows]


def test_a_revision_that_rebuilds_question_keeps_its_triggers(project, database):
    # On SQLite, altering a column copies the table into a new one (batch "move and copy"),
    # which dropped the old table's triggers and failed on the RENAME (migration_safety/triggers.py).
    project.manage("db", "upgrade")
    project.add_revision("aa0000000001", "longer titles", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(300),
                                  existing_nullable=False)
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(300), type_=sa.String(200),
                                  existing_nullable=False)
    """)
    project.manage("db", "upgrade")
    user = "user" if database.backend == "sqlite" else "`user`"
    database.execute(f"INSERT INTO {user} (id, username, username_key, email, password_hash, "
                     "join_time) "
                     "VALUES (1, 'ann', 'ann', 'ann@example.com', 'x', '2020-01-01')")
    for title in ("first 分页", "second"):
        database.execute("INSERT INTO question (title, content, create_time, author_id) "
                         "VALUES (:t, 'x', '2020-01-01', 1)", {"t": title})
    database.execute("INSERT INTO answer (content, create_time, question_id, author_id) "
                     "VALUES ('x', '2020-01-01', 1, 1)")
    assert_dense(database)
    assert searched(database, "分页") == [1] and searched(database, "second") == [2]
    project.manage("db", "downgrade", "--allow-data-loss")
    database.execute("INSERT INTO question (title, content, create_time, author_id) "
                     "VALUES ('third', 'x', '2020-01-01', 1)")
    assert_dense(database)
    assert searched(database, "third") == [3]
