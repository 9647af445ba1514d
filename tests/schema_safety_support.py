"""Helpers for the schema_safety tests: rows to protect, model edits, hand-written revisions."""
import sys
from datetime import datetime

import sqlalchemy as sa

from tests.terminal import Terminal

T0 = datetime(2026, 1, 1, 10, 0)
LONG_TITLE = "How do I keep my data when a migration drops a column?"  # 55 characters


def seed(project):
    """Upgrade to head and put rows in every table; returns the project's database."""
    project.manage("db", "upgrade")
    db = project.database
    db.execute("INSERT INTO user (id, username, username_key, email, password_hash, join_time) "
               "VALUES (1, 'ann', 'ann', 'ann@example.com', 'scrypt:x', :t), "
               "(2, 'bob', 'bob', 'bob@example.com', 'scrypt:y', :t)", {"t": T0})
    db.execute("INSERT INTO question (id, title, content, create_time, author_id) VALUES "
               "(1, 'Short one', 'a', :t, 1), (2, :long, 'b', :t, 1), "
               "(3, 'Why? 迁移 🚀', 'c', :t, 2)", {"t": T0, "long": LONG_TITLE})
    db.execute("INSERT INTO answer (id, content, create_time, question_id, author_id) VALUES "
               "(1, 'Read the script.', :t, 2, 2)", {"t": T0})
    db.execute("INSERT INTO email_captcha (id, email, captcha, create_time, used, attempts) "
               "VALUES (1, 'ann@example.com', '123456', :t, 0, 0), "
               "(2, 'bob@example.com', '654321', :t, 1, 2)", {"t": T0})
    return db


def state(project):
    """Everything a refused command must leave as it was: schema, rows, revision."""
    engine = project.database.engine
    engine.dispose()  # no cached reflection or connection from before the command
    inspector = sa.inspect(engine)
    result = {}
    for table in sorted(inspector.get_table_names()):
        columns = [(c["name"], str(c["type"]), c["nullable"])
                   for c in inspector.get_columns(table)]
        indexes = sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]))
                         for i in inspector.get_indexes(table))
        result[table] = {"columns": columns, "indexes": indexes,
                         "rows": project.database.rows(table)}
    return result


def column_values(project, table, column):
    return [row[0] for row in project.database.execute(
        f"SELECT {column} FROM {table} ORDER BY id")]


def columns(project, table):
    """{name: (type as the database reports it, nullable)} of *table*."""
    project.database.engine.dispose()
    inspector = sa.inspect(project.database.engine)
    return {c["name"]: (str(c["type"]), c["nullable"]) for c in inspector.get_columns(table)}


def index_names(project, table):
    project.database.engine.dispose()
    return {i["name"] for i in sa.inspect(project.database.engine).get_indexes(table)}


def edit_models(project, old, new):
    project.edit_models(old, new)


def head(project):
    return project.head()


def add_revision(project, rev_id, message, upgrade, downgrade="pass"):
    """Write a hand-written revision on top of the current head; returns its id."""
    project.add_revision(rev_id, message, upgrade, downgrade)
    return rev_id


def new_scripts(project, before):
    """Text of the revision files written since *before* (a project.versions() list)."""
    return project.new_scripts(before)


def terminal(project, *args):
    """manage.py *args* as a real process on a pseudo-terminal, answered as a user would."""
    return Terminal([sys.executable, "manage.py", *args], cwd=project.root, env=project.env())


def flask(project, *args, **kwargs):
    """The same project through Flask's own CLI: ``flask --app app db ...``, in-process."""
    return project.flask(*args, **kwargs)
