"""The migration lock: concurrent db upgrade/downgrade/stamp runs apply each revision once.

Concurrency between processes needs real processes: those tests start manage.py several
times at once. The others hold the lock in this process and run a command in-process.
"""
import pytest
from sqlalchemy import create_engine

from migration_safety.lock import migration_lock
from tests.backends import mariadb_only
from tests.schema_safety_support import state

WAITING = "Waiting up to"

# Each revision logs itself in a table: applied twice, it would leave two rows (or fail).
LOGGED_REVISIONS = {
    "a1a1a1a1a1a1": ("lock drill one", """
        op.create_table('upgrade_log', sa.Column('revision', sa.String(20), nullable=False),
                        mysql_engine='InnoDB', mysql_charset='utf8mb4')
        op.execute("INSERT INTO upgrade_log (revision) VALUES ('a1a1a1a1a1a1')")
    """, "op.drop_table('upgrade_log')"),
    "b2b2b2b2b2b2": ("lock drill two", """
        op.execute("INSERT INTO upgrade_log (revision) VALUES ('b2b2b2b2b2b2')")
        with op.batch_alter_table('question') as batch_op:
            batch_op.add_column(sa.Column('views', sa.Integer(), nullable=True))
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('views')
        op.execute("DELETE FROM upgrade_log WHERE revision = 'b2b2b2b2b2b2'")
    """),
}


def version(project):
    return project.database.revisions()


def add_logged_revisions(project):
    for rev_id, (message, upgrade, downgrade) in LOGGED_REVISIONS.items():
        project.add_revision(rev_id, message, upgrade, downgrade)


@pytest.fixture
def held_lock(project):
    """Hold the real migration lock of the project's database from this test process."""
    engine = create_engine(project.database_url)

    class Holder:
        def __enter__(self):
            self.connection = engine.connect()
            self.context = migration_lock(self.connection, timeout=5)
            self.context.__enter__()
            return self

        def __exit__(self, *exc):
            self.context.__exit__(None, None, None)
            self.connection.close()

    yield Holder()
    engine.dispose()


def test_concurrent_upgrades_apply_each_revision_once(project, held_lock):
    add_logged_revisions(project)
    head = project.head()
    with held_lock:
        runs = [project.background("manage.py", "db", "upgrade") for _ in range(4)]
        # All four are blocked on the lock before it is released: they really contend.
        for run in runs:
            assert run.wait_for(WAITING), run.output
    results = [(run.finish(), run.output) for run in runs]

    assert [code for code, _ in results] == [0] * 4, [out for _, out in results]
    assert all("Traceback" not in out and "Error" not in out for _, out in results)
    log = project.database.execute("SELECT revision FROM upgrade_log ORDER BY revision")
    assert [row[0] for row in log] == ["a1a1a1a1a1a1", "b2b2b2b2b2b2"]
    assert version(project) == [head]
    ran = sum(out.count("Running upgrade") for _, out in results)
    assert ran == len(project.versions()), "each revision ran in exactly one process"


def test_concurrent_downgrades_and_upgrades_leave_a_consistent_database(project):
    """Mixed commands at once: each runs whole, one after the other, and all exit 0."""
    base = project.head()
    add_logged_revisions(project)
    project.manage("db", "upgrade")
    runs = [project.background("manage.py", "db", *args) for args in
            # The downgrades drop upgrade_log's rows: the data gate wants that acknowledged.
            (["downgrade", "-1", "--allow-data-loss"], ["upgrade"],
             ["downgrade", "-1", "--allow-data-loss"], ["upgrade"])]
    results = [(run.finish(), run.output) for run in runs]
    assert [code for code, _ in results] == [0] * 4, [out for _, out in results]
    (current,) = version(project)
    tables = project.database.tables()
    columns = {c["name"] for c in project.database.columns("question")}
    rows = sorted(row[0] for row in project.database.execute("SELECT revision FROM upgrade_log")) \
        if "upgrade_log" in tables else None
    # Whatever order they ran in, schema, data and version agree with each other.
    expected = {
        "b2b2b2b2b2b2": (["a1a1a1a1a1a1", "b2b2b2b2b2b2"], True),
        "a1a1a1a1a1a1": (["a1a1a1a1a1a1"], False),
        base: (None, False),  # two downgrades last: both logged revisions undone
    }
    assert current in expected
    assert (rows, "views" in columns) == expected[current]


def test_a_waiting_upgrade_goes_on_once_the_lock_is_released(project, held_lock):
    with held_lock:
        run = project.background("manage.py", "db", "upgrade")
        assert run.wait_for(WAITING), run.output
        # Still blocked: nothing has changed while the lock is held.
        assert run.process.poll() is None
        assert version(project) == []
    assert run.finish() == 0, run.output
    assert version(project) == [project.head()]


@pytest.mark.parametrize("args", [["upgrade"], ["downgrade", "base"], ["stamp", "base"],
                                  ["kept", "--purge"]],
                         ids=["upgrade", "downgrade", "stamp", "purge"])
def test_commands_that_change_the_database_wait_for_the_lock_at_most_its_timeout(
        project, held_lock, args):
    if args[0] != "upgrade":
        project.manage("db", "upgrade")
    before = state(project)
    with held_lock:
        result = project.manage("db", *args, check=False, env={"MIGRATION_LOCK_TIMEOUT": "1"})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert WAITING in result.stderr
    errors = [line for line in result.stderr.splitlines() if "Error:" in line]
    assert len(errors) == 1, result.stderr
    assert "gave up after 1 s waiting for the" in errors[0] and "lock" in errors[0]
    assert "Run the command again when it has finished" in errors[0]
    assert state(project) == before


@mariadb_only  # on SQLite db recover has nothing to do and takes no lock
def test_db_recover_waits_for_the_lock_at_most_its_timeout(project, held_lock):
    project.manage("db", "upgrade")
    with held_lock:
        result = project.manage("db", "recover", check=False,
                                env={"MIGRATION_LOCK_TIMEOUT": "1"})
    assert result.returncode == 1 and "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "Error:" in line]
    assert len(errors) == 1 and "gave up after 1 s waiting for the" in errors[0], result.stderr


def test_read_only_commands_do_not_wait_for_the_lock(project, held_lock):
    project.manage("db", "upgrade")
    with held_lock:
        current = project.manage("db", "current", env={"MIGRATION_LOCK_TIMEOUT": "1"})
        history = project.manage("db", "history", "-i", env={"MIGRATION_LOCK_TIMEOUT": "1"})
    assert project.head() in current.stdout and "(current)" in history.stdout
    assert WAITING not in current.stderr + history.stderr


@pytest.mark.parametrize("value", ["soon", "0", "-5", "1.5"])
def test_bad_lock_timeout_is_a_one_line_error(project, value):
    result = project.manage("db", "upgrade", check=False, env={"MIGRATION_LOCK_TIMEOUT": value})
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"Error: MIGRATION_LOCK_TIMEOUT must be a whole number of seconds above 0, not {value!r}")
    assert project.database.tables() == set()
