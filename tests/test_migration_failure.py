"""A revision that fails half-way: rolled back on SQLite, recorded and resumable on MariaDB."""
import re

import pytest

from tests.backends import mariadb_only, sqlite_only
from tests.rows import fill_new_tables, snapshot

DRILL = "dddddddddddd"
DRILL_UPGRADE = """
    op.create_table('drill_tag',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_drill_tag')),
        mysql_engine='InnoDB', mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci')
    op.execute("INSERT INTO drill_tag (id, name) VALUES (1, 'general')")
    with op.batch_alter_table('user') as batch_op:
        batch_op.add_column(sa.Column('nickname', sa.String(length=50), nullable=True))
    # Hand-written SQL: the data gate of db upgrade cannot read it, so it is not refused
    # up front (a unique index written as op.create_index would be) and fails half-way.
    op.execute("CREATE UNIQUE INDEX uq_user_username ON user (username)")
"""
DRILL_DOWNGRADE = """
    with op.batch_alter_table('user') as batch_op:
        batch_op.drop_index('uq_user_username')
        batch_op.drop_column('nickname')
    op.drop_table('drill_tag')
"""


def version(project):
    return project.database.revisions()


def column_names(project, table):
    return {column["name"] for column in project.database.columns(table)}


@pytest.fixture
def drill(project):
    """The project at head with a row in every table, two users sharing a username, and a
    new revision whose fourth operation (a hand-written unique index on username) fails on
    that data."""
    project.manage("db", "upgrade")
    fill_new_tables(project)
    project.database.execute(
        "INSERT INTO user (id, username, username_key, email, password_hash, join_time) "
        "VALUES (2, 'ann', 'ann-2', 'ann2@example.com', 'scrypt:y', '2026-01-02 10:00:00')")
    base = project.head()
    path = project.add_revision(DRILL, "drill: add tags", DRILL_UPGRADE, DRILL_DOWNGRADE)
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1)
                if "CREATE UNIQUE INDEX" in text)
    return base, path, line, snapshot(project)


def fix_the_data(project):
    project.database.execute("UPDATE user SET username = 'ann-2' WHERE id = 2")


def assert_one_report(result):
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    # One error report (it names the revision) however many lines it spans.
    assert len(re.findall(r"(?m)(?:^|\] )Error: ", result.stderr)) == 1


@mariadb_only  # MySQL cannot roll DDL back; SQLite's case is the next test
def test_half_applied_revision_resumes_after_the_cause_is_fixed(project, drill):
    base, path, line, before = drill

    failed = project.manage("db", "upgrade", check=False)
    assert_one_report(failed)
    report = failed.stderr[failed.stderr.index("Error: "):]
    relative = f"migrations/versions/{path.name}"
    assert report.startswith(
        f'Error: revision {DRILL} ("drill: add tags") failed at operation 4 of its upgrade, '
        f"line {line} of {relative}: (1062, \"Duplicate entry 'ann' for key 'uq_user_username'\")")
    assert "  failed: CREATE UNIQUE INDEX uq_user_username ON user (username)\n" in report
    assert "  already applied (3; MySQL cannot roll DDL back), recorded in table " \
           "alembic_progress:\n" in report
    assert "    1. CREATE TABLE drill_tag (" in report
    assert "    2. INSERT INTO drill_tag (id, name) VALUES (1, 'general')\n" in report
    assert "    3. ALTER TABLE user ADD COLUMN nickname VARCHAR(50)\n" in report
    assert f"  alembic_version still says {base}.\n" in report
    assert ("  To recover: fix the cause, then run 'python manage.py db upgrade' again: it skips "
            "the 3 recorded operations and goes on from operation 4.") in report

    # What the report says is what the database holds.
    assert version(project) == [base]
    assert "drill_tag" in project.database.tables()
    assert "nickname" in column_names(project, "user")
    recorded = project.database.execute(
        "SELECT position FROM alembic_progress WHERE revision = :r AND direction = 'upgrade' "
        "ORDER BY position", {"r": DRILL})
    assert [row[0] for row in recorded] == [1, 2, 3]

    shown = project.manage("db", "recover")
    assert f"the upgrade of revision {DRILL} is unfinished: 3 of its operations" in shown.stdout
    assert f"alembic_version says {base}." in shown.stdout

    # Running it again before fixing the cause fails the same way and changes nothing.
    again = project.manage("db", "upgrade", check=False)
    assert_one_report(again)
    assert "failed at operation 4 of its upgrade" in again.stderr
    assert "Skipping operation 3, applied by an earlier run" in again.stderr
    assert project.database.rows("drill_tag") == [{"id": 1, "name": "general"}]

    fix_the_data(project)
    resumed = project.manage("db", "upgrade")
    assert "Resuming the upgrade of revision" in resumed.stderr
    assert version(project) == [DRILL]
    # The recorded INSERT was skipped, not run twice.
    assert project.database.rows("drill_tag") == [{"id": 1, "name": "general"}]
    assert "alembic_progress" not in project.database.tables()
    after = snapshot(project)
    for table, rows in before.items():
        expected = [dict(row, username="ann-2") if table == "user" and row["id"] == 2 else row
                    for row in rows]
        assert [{k: r[k] for k in row} for r, row in zip(after[table], expected)] == expected

    # The revision is now an ordinary one: down (dropping drill_tag and its row, which the
    # data gate makes us acknowledge) and up again keep every other row.
    project.manage("db", "downgrade", "--allow-data-loss")
    assert version(project) == [base] and "drill_tag" not in project.database.tables()
    project.manage("db", "upgrade")
    assert version(project) == [DRILL]


@sqlite_only  # SQLite runs each revision in a transaction
def test_failed_revision_is_rolled_back_as_a_whole_on_sqlite(project, drill):
    base, path, line, before = drill

    failed = project.manage("db", "upgrade", check=False)
    assert_one_report(failed)
    report = failed.stderr[failed.stderr.index("Error: "):]
    assert report.startswith(
        f'Error: revision {DRILL} ("drill: add tags") failed at operation 4 of its upgrade, '
        f"line {line} of migrations/versions/{path.name}: UNIQUE constraint failed: user.username")
    assert "  failed: CREATE UNIQUE INDEX uq_user_username ON user (username)\n" in report
    assert ("  nothing of this revision was kept: SQLite rolled it back as a whole "
            "(3 operations undone).\n") in report
    assert f"  alembic_version still says {base}.\n" in report
    assert "  To recover: fix the cause, then run 'python manage.py db upgrade' again." in report

    assert version(project) == [base]
    assert "drill_tag" not in project.database.tables()
    assert "nickname" not in column_names(project, "user")
    assert snapshot(project) == before
    assert "Nothing to recover on sqlite" in project.manage("db", "recover").stdout

    fix_the_data(project)
    project.manage("db", "upgrade")
    assert version(project) == [DRILL]
    assert project.database.rows("drill_tag") == [{"id": 1, "name": "general"}]


def test_revisions_completed_before_the_failure_stay_applied(project, drill):
    """In one run of several revisions, those before the failed one are kept, on both."""
    base, _, _, _ = drill
    (project.root / "migrations" / "versions").joinpath(
        next(name for name in project.versions() if DRILL in name)).unlink()
    project.add_revision("cccccccccccc", "drill: first, fine", """
        op.create_table('drill_fine', sa.Column('id', sa.Integer(), primary_key=True),
                        mysql_engine='InnoDB', mysql_charset='utf8mb4')
    """, "op.drop_table('drill_fine')")
    project.add_revision(DRILL, "drill: add tags", DRILL_UPGRADE, DRILL_DOWNGRADE)

    failed = project.manage("db", "upgrade", check=False)
    assert_one_report(failed)
    assert 'completed before it in this run, and kept: cccccccccccc ("drill: first, fine").' \
        in failed.stderr
    assert "alembic_version still says cccccccccccc." in failed.stderr
    assert version(project) == ["cccccccccccc"]
    assert "drill_fine" in project.database.tables()

    fix_the_data(project)
    project.manage("db", "upgrade")
    assert version(project) == [DRILL]


def test_an_error_in_the_revision_code_names_its_line(project):
    project.manage("db", "upgrade")
    base = project.head()
    # A write through op.get_bind() is only recorded by the data gate's dry run, so the typo
    # in its table name surfaces when the revision really runs.
    path = project.add_revision("eeeeeeeeeeee", "drill: typo", """
        op.create_table('drill_typo', sa.Column('id', sa.Integer(), primary_key=True),
                        mysql_engine='InnoDB', mysql_charset='utf8mb4')
        op.get_bind().execute(sa.text("INSERT INTO drill_typp (id) VALUES (1)"))
    """, "op.drop_table('drill_typo')")
    line = next(n for n, text in enumerate(path.read_text().splitlines(), 1) if "drill_typp" in text)

    failed = project.manage("db", "upgrade", check=False)
    assert_one_report(failed)
    assert (f'Error: revision eeeeeeeeeeee ("drill: typo") failed at its upgrade() function, '
            f"line {line} of migrations/versions/{path.name}: ") in failed.stderr
    assert "drill_typp" in failed.stderr
    assert version(project) == [base]
    if project.database.backend == "sqlite":
        assert "drill_typo" not in project.database.tables()
    else:
        assert "already applied (1; MySQL cannot roll DDL back)" in failed.stderr
        assert "drill_typo" in project.database.tables()

    path.write_text(path.read_text().replace("drill_typp", "drill_typo"))
    project.manage("db", "upgrade")
    assert version(project) == ["eeeeeeeeeeee"]
    assert project.database.rows("drill_typo") == [{"id": 1}]


def test_a_python_error_in_a_revision_is_refused_before_any_ddl(project):
    """The data gate dry-runs each revision first, so a typo in an op call changes nothing."""
    project.manage("db", "upgrade")
    base = project.head()
    project.add_revision("eeeeeeeeeeee", "drill: typo", """
        op.create_table('drill_typo', sa.Column('id', sa.Integer(), primary_key=True),
                        mysql_engine='InnoDB', mysql_charset='utf8mb4')
        op.add_colum('drill_typo', sa.Column('name', sa.String(20)))
    """, "op.drop_table('drill_typo')")

    failed = project.manage("db", "upgrade", check=False)
    assert_one_report(failed)
    assert "could not work out what the upgrade to eeeeeeeeeeee" in failed.stderr
    assert "add_colum" in failed.stderr and "Nothing was changed." in failed.stderr
    assert version(project) == [base]
    assert "drill_typo" not in project.database.tables()


@mariadb_only  # only MySQL keeps operations of a failed revision
def test_a_script_changed_after_a_partial_run_is_refused(project, drill):
    base, path, _, _ = drill
    assert project.manage("db", "upgrade", check=False).returncode == 1

    # The size changes too, so no stale bytecode can hide the edit.
    path.write_text(path.read_text().replace("sa.String(length=50), nullable=False",
                                             "sa.String(length=100), nullable=False"))
    fix_the_data(project)
    refused = project.manage("db", "upgrade", check=False)
    assert_one_report(refused)
    assert (f'Error: revision {DRILL} ("drill: add tags") changed since an earlier run applied '
            "part of its upgrade: operation 1 was recorded as `CREATE TABLE drill_tag (") \
        in refused.stderr
    assert "the script now issues `CREATE TABLE drill_tag ( id INTEGER NOT NULL AUTO_INCREMENT, " \
           "name VARCHAR(100)" in refused.stderr
    assert "run 'python manage.py db recover --forget'" in refused.stderr
    assert version(project) == [base]
    assert len(project.database.rows("alembic_progress")) == 3


@mariadb_only  # only MySQL keeps operations of a failed revision
def test_an_unfinished_revision_blocks_other_runs_until_forgotten(project, drill):
    base, _, _, before = drill
    assert project.manage("db", "upgrade", check=False).returncode == 1

    # --allow-data-loss gets past the data gate (the downgrade would drop tables that hold
    # rows); the unfinished record still blocks it, and nothing is dropped.
    blocked = project.manage("db", "downgrade", "--allow-data-loss", check=False)
    assert_one_report(blocked)
    assert f"cannot run the downgrade of revision {base}" in blocked.stderr
    assert f"the upgrade of revision {DRILL} is unfinished" in blocked.stderr
    assert version(project) == [base] and "question" in project.database.tables()

    # Giving the revision up: undo its operations by hand, then forget the record.
    project.database.execute("DROP TABLE drill_tag")
    project.database.execute("ALTER TABLE user DROP COLUMN nickname")
    forgot = project.manage("db", "recover", "--forget")
    assert "Forgot that record (table alembic_progress dropped)" in forgot.stdout
    assert "alembic_progress" not in project.database.tables()
    assert snapshot(project) == before
    assert "No unfinished revision" in project.manage("db", "recover").stdout

    # From its first operation again, once the data allows it.
    fix_the_data(project)
    project.manage("db", "upgrade")
    assert version(project) == [DRILL]
    assert project.database.rows("drill_tag") == [{"id": 1, "name": "general"}]


@sqlite_only  # a read-only file; a MySQL account without rights is alike
def test_a_database_that_cannot_be_written_is_a_clear_error(project):
    project.manage("db", "upgrade")
    project.add_revision("abababababab", "drill: read only", """
        op.create_table('drill_ro', sa.Column('id', sa.Integer(), primary_key=True))
    """, "op.drop_table('drill_ro')")
    read_only = f"sqlite:///file:{project.database.url[len('sqlite:///'):]}?mode=ro&uri=true"
    failed = project.manage("db", "upgrade", check=False, env={"DATABASE_URL": read_only})
    assert_one_report(failed)
    assert "failed at operation 1 of its upgrade" in failed.stderr
    assert "attempt to write a readonly database" in failed.stderr
    assert "drill_ro" not in project.database.tables()
