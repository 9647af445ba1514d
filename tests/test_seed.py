"""``python manage.py seed``: fast bulk demo data that tops up instead of piling up."""
import re

import pytest

from tests.backends import database_unused


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
