"""A row in every table of a project's database, and snapshots of every row to compare."""
from datetime import datetime

import sqlalchemy as sa

from migration_safety.names import is_ignored

# One row for every table of the schema, inserted as soon as the table exists.
SAMPLE_ROWS = {
    "user": {"id": 1, "username": "ann", "username_key": "ann", "email": "ann@example.com",
             "password_hash": "scrypt:x", "join_time": datetime(2026, 1, 1, 10, 0)},
    "email_captcha": {"id": 1, "email": "ann@example.com", "captcha": "123456",
                      "create_time": datetime(2026, 1, 1, 10, 0), "used": False, "attempts": 0},
    "login_failure": {"id": 1, "email": "ann@example.com",
                      "create_time": datetime(2026, 1, 1, 10, 0)},
    "rate_limit_slot": {"bucket": "login:ann@example.com", "slot": 0,
                        "taken_at": datetime(2026, 1, 1, 10, 0)},
    "question": {"id": 1, "title": "How do migrations work? 迁移 🚀", "content": "Body",
                 "create_time": datetime(2026, 1, 1, 10, 1), "author_id": 1},
    "answer": {"id": 1, "content": "Read the script first.",
               "create_time": datetime(2026, 1, 1, 10, 2), "question_id": 1, "author_id": 1},
}


def snapshot(project):
    """Every row of every application table, as dicts, to compare before and after."""
    database = project.database
    return {name: database.rows(name) for name in database.tables() - {"alembic_version"}
            if not name.startswith("alembic_keep")}  # what --allow-data-loss kept


def kept(before, after):
    """True when every row of *before* is in *after* with the same values in shared columns."""
    for table, rows in before.items():
        if table not in after or len(after[table]) != len(rows):
            return False
        for old, new in zip(rows, after[table]):
            if any(new[column] != value for column, value in old.items() if column in new):
                return False
    return True


def fill_new_tables(project):
    database = project.database
    existing = database.tables()
    for table, row in SAMPLE_ROWS.items():
        if table in existing and not database.rows(table):
            Table = sa.Table(table, sa.MetaData(), autoload_with=database.engine)
            with database.engine.begin() as conn:
                # Only the columns the table has at this revision (username_key came later).
                conn.execute(Table.insert().values(
                    **{name: value for name, value in row.items() if name in Table.c}))


def fill_every_table(database):
    """A row in every table of *database* but alembic_version: SAMPLE_ROWS' row where it has
    one, else a value of each column's type (1 for keys, so foreign keys find their row)."""
    metadata = sa.MetaData()
    metadata.reflect(database.engine)
    with database.engine.begin() as conn:
        for table in metadata.sorted_tables:  # parents before the tables that point at them
            # The search index's and the counter's tables are kept by triggers.
            if table.name != "alembic_version" and not is_ignored(table.name):
                row = SAMPLE_ROWS.get(table.name) or _generic_row(table)
                conn.execute(table.insert().values(
                    **{name: value for name, value in row.items() if name in table.c}))


def _generic_row(table):
    return {column.name: _value(column) for column in table.columns}


def _value(column):
    if column.primary_key or column.foreign_keys:
        return 1
    enums = getattr(column.type, "enums", None)
    if enums:
        return enums[0]
    try:
        python_type = column.type.python_type
    except NotImplementedError:
        return None
    if python_type is str:
        return f"{column.name} one"[:getattr(column.type, "length", None) or None]
    from datetime import date
    from decimal import Decimal
    return {int: 1, bool: False, float: 1.5, Decimal: Decimal("1.5"), bytes: b"x",
            datetime: datetime(2026, 1, 1, 10, 0), date: date(2026, 1, 1)}.get(python_type)
