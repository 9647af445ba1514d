"""MySQL/MariaDB: changes that copy a big table (blocking writes) need --allow-table-copy."""
from tests.backends import mariadb_only
from tests.safety_support import applied
from tests.schema_safety_support import column_values, columns, seed, state

# question holds 3 rows after seed(): above this, it is a big table.
SMALL_LIMIT = {"MIGRATION_TABLE_COPY_ROWS": "2"}

NARROW_TITLE = """
    with op.batch_alter_table('question') as batch_op:
        batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(150),
                              existing_nullable=False)
"""


# SQLite has no online DDL (a migration holds its write lock): these run on MariaDB only.
pytestmark = mariadb_only


def test_a_table_copy_above_the_limit_is_refused_then_allowed(project):
    seed(project)
    project.add_revision("o1", "shorter titles", NARROW_TITLE)
    before = state(project)
    result = project.manage("db", "upgrade", check=False, env=SMALL_LIMIT)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("Error: db upgrade refused: these changes copy a table, and every write to it "
            "waits until the copy ends. Nothing was changed.\n"
            "  - upgrade to o1 (shorter titles): changes a column's type, which copies the "
            "table: blocks writes to question (3 rows)\n"
            "Tables above MIGRATION_TABLE_COPY_ROWS (2 rows) are copied only with "
            "--allow-table-copy") in result.stderr
    assert state(project) == before

    allowed = project.manage("db", "upgrade", "--allow-table-copy", env=SMALL_LIMIT)
    assert ("Note: upgrade to o1 (shorter titles): changes a column's type, which copies the "
            "table: blocks writes to question (3 rows) until it finishes") in allowed.stderr
    assert columns(project, "question")["title"][0].startswith("VARCHAR(150)")


def test_below_the_limit_a_copy_is_only_reported(project):
    seed(project)
    project.add_revision("o1", "shorter titles", NARROW_TITLE)
    result = applied(project, "db", "upgrade")
    assert "blocks writes to question (3 rows) until it finishes" in result.stderr


def test_online_changes_to_a_big_table_need_no_option(project):
    seed(project)
    project.add_revision("o2", "views and an index", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
        op.create_index('ix_question_title', 'question', ['title'])
    """)
    result = applied(project, "db", "upgrade", env=SMALL_LIMIT)
    assert "blocks writes" not in result.stderr
    assert column_values(project, "question", "views") == [None, None, None]


def test_a_change_the_server_can_only_make_by_locking_fails_fast(project):
    """Statements on a big table are sent with LOCK=NONE: what the rules took for online
    but the server can do only with a lock fails at once, and says what to do."""
    seed(project)
    project.add_revision("o3", "no primary key", """
        op.drop_constraint('pk_login_failure', 'login_failure', type_='primary')
    """)
    project.database.execute("INSERT INTO login_failure (email, create_time) VALUES "
                             "('a@example.com', '2026-01-01'), ('b@example.com', '2026-01-01'), "
                             "('c@example.com', '2026-01-01')")
    project.database.execute("ALTER TABLE login_failure MODIFY id INTEGER NOT NULL")
    failed = project.manage("db", "upgrade", check=False, env=SMALL_LIMIT)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert "LOCK=NONE is not supported" in failed.stderr
    assert "run it with --allow-table-copy when writes may wait" in failed.stderr

    project.manage("db", "recover", "--forget")
    project.manage("db", "upgrade", "--allow-table-copy", env=SMALL_LIMIT)
    assert project.database.execute("SELECT version_num FROM alembic_version") == [("o3",)]
