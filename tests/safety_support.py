"""Helpers for the migration-safety tests: a table of chosen values, refusals, exact states."""
from decimal import Decimal

import sqlalchemy as sa

from tests.schema_safety_support import state

REFUSED = "refused: it would destroy or break existing data. Nothing was changed."

# A table of our own, so each test chooses exactly the values in play.
PROBE_TABLE = """
    op.create_table('probe',
        sa.Column('id', sa.Integer(), nullable=False),
        {columns}
        sa.PrimaryKeyConstraint('id', name='pk_probe'),
        mysql_engine='InnoDB', mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci')
"""


def with_probe_table(project, columns, rows):
    """Upgrade to head plus a revision creating table probe with *columns* (python source of
    sa.Column(...) lines), then insert *rows* (dicts, each with an id)."""
    project.manage("db", "upgrade")
    project.add_revision("p0", "probe table", PROBE_TABLE.format(columns="\n        ".join(
        f"{column}," for column in columns)), "op.drop_table('probe')")
    project.manage("db", "upgrade")
    for row in rows:
        # Decimals as text: sqlite3 binds no Decimal, and both databases read '3.75' exactly.
        row = {k: str(v) if isinstance(v, Decimal) else v for k, v in row.items()}
        names = ", ".join(row)
        values = ", ".join(f":{name}" for name in row)
        project.database.execute(f"INSERT INTO probe ({names}) VALUES ({values})", row)


def probe_values(project, column="value"):
    return [row[0] for row in project.database.execute(
        f"SELECT {column} FROM probe ORDER BY id")]


def refused(project, *args, env=None):
    """Run a command that must be refused; returns stderr after checking the database is
    exactly as before, and that there is one error report and no traceback."""
    before = state(project)
    result = project.manage(*args, check=False, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.count("Error: ") == 1, result.stderr
    assert state(project) == before, "a refused command changed the database"
    return result.stderr


def applied(project, *args, env=None):
    """Run a command that must pass without refusing or destroying anything."""
    result = project.manage(*args, env=env)
    assert "refused" not in result.stderr and "destroying" not in result.stderr, result.stderr
    return result


def alter_type(old, new, nullable=True):
    """An upgrade body changing probe.value from *old* to *new* (python source of types)."""
    return f"""
        with op.batch_alter_table('probe') as batch_op:
            batch_op.alter_column('value', existing_type={old}, type_={new},
                                  existing_nullable={nullable})
    """


def column_type(project, table, column):
    project.database.engine.dispose()
    for reflected in sa.inspect(project.database.engine).get_columns(table):
        if reflected["name"] == column:
            return str(reflected["type"])
    return None
