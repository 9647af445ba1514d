"""Rows the tests start from, made through the models inside the ``app`` fixture's context."""
import contextlib
from datetime import timedelta

from sqlalchemy import event

import db_objects
from app import create_app
from exts import db
from models import AnswerModel, QuestionModel, UserModel, utcnow
from tests.site import PASSWORD


def make_user(email="ann@example.com", password=PASSWORD, username=None):
    user = UserModel(username=username or email.split("@")[0], email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def add_questions(author, count, answers_each=0, title="Question {i}", start=None):
    """*count* questions a minute apart (oldest first), each with *answers_each* answers."""
    start = start or utcnow() - timedelta(days=1)
    questions = []
    for i in range(count):
        question = QuestionModel(title=title.format(i=i), content=f"Body {i}", author=author,
                                 create_time=start + timedelta(minutes=i))
        questions.append(question)
        db.session.add(question)
        db.session.add_all([
            AnswerModel(content=f"Answer {j} to {i}", question=question, author=author,
                        create_time=start + timedelta(minutes=i, seconds=j))
            for j in range(answers_each)])
    db.session.commit()
    return questions


def backdate(rows, seconds):
    """Move *rows* into the past, as the clock would (SQL date arithmetic differs per database)."""
    for row in rows:
        row.create_time -= timedelta(seconds=seconds)
    db.session.commit()


@contextlib.contextmanager
def another_worker(app):
    """A second app on the same database, standing for another gunicorn worker process."""
    other = create_app("testing", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                   "MAIL_SERVER": app.config["MAIL_SERVER"],
                                   "MAIL_PORT": app.config["MAIL_PORT"]})
    with other.app_context():
        try:
            yield other
        finally:
            db.session.remove()
            db.engine.dispose()


@contextlib.contextmanager
def statements(engine, with_parameters=False):
    """The SQL statements *engine* sends inside the block, in a list (with their parameters,
    as (statement, parameters) pairs, if asked)."""
    sent = []

    def record(conn, cursor, statement, parameters, *args):
        sent.append((statement, parameters) if with_parameters else statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def count_queries(client, path):
    """How many SQL statements the page at *path* runs (it must answer 200)."""
    with statements(db.engine) as sent:
        assert client.get(path).status_code == 200
    return len(sent)


@contextlib.contextmanager
def small_recent_tier(engine, recent):
    """MariaDB with Mroonga: the search index's recent tier made again for the newest
    *recent* questions (db_objects.RECENT), and as it was after the block."""
    def make():
        with engine.begin() as connection:
            # DROP TRIGGER waits for every open transaction on question: fail, not hang.
            connection.exec_driver_sql("SET SESSION lock_wait_timeout = 10")
            for statement in db_objects.SEARCH_RECENT_DROP + db_objects.search_recent():
                connection.exec_driver_sql(statement)

    default, db_objects.RECENT = db_objects.RECENT, recent
    try:
        make()
    finally:
        db_objects.RECENT = default
    try:
        yield
    finally:
        make()
