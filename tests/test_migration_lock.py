"""The migration lock: concurrent db upgrade/downgrade/stamp runs apply each revision once."""
import subprocess
import sys
import threading
import time

import pytest
from sqlalchemy import create_engine

from migration_safety.lock import migration_lock

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
    if "alembic_version" not in project.database.tables():
        return None
    return [row[0] for row in project.database.execute("SELECT version_num FROM alembic_version")]


def add_logged_revisions(project):
    for rev_id, (message, upgrade, downgrade) in LOGGED_REVISIONS.items():
        project.add_revision(rev_id, message, upgrade, downgrade)


class Started:
    """A ``manage.py`` subprocess whose stderr is read as it comes, to know when it waits."""

    def __init__(self, project, *args, env=None):
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", *args], cwd=project.root, env=project.env(**(env or {})),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self.waiting = threading.Event()
        self.stderr_lines = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for line in self.process.stderr:
            self.stderr_lines.append(line)
            if WAITING in line:
                self.waiting.set()

    def finish(self, timeout=120):
        stdout = self.process.stdout.read()
        self.process.wait(timeout=timeout)
        self.reader.join(timeout=timeout)
        return self.process.returncode, stdout, "".join(self.stderr_lines)


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


def test_eight_concurrent_upgrades_apply_each_revision_once(project, held_lock):
    add_logged_revisions(project)
    head = project.head()
    with held_lock:
        runs = [Started(project, "db", "upgrade") for _ in range(8)]
        # All eight are blocked on the lock before it is released: they really contend.
        for run in runs:
            assert run.waiting.wait(timeout=60), "".join(run.stderr_lines)
    results = [run.finish() for run in runs]

    assert [code for code, _, _ in results] == [0] * 8, [err for _, _, err in results]
    assert all("Traceback" not in err and "Error" not in err for _, _, err in results)
    log = project.database.execute("SELECT revision FROM upgrade_log ORDER BY revision")
    assert [row[0] for row in log] == ["a1a1a1a1a1a1", "b2b2b2b2b2b2"]
    assert version(project) == [head]
    ran = sum(err.count("Running upgrade") for _, _, err in results)
    assert ran == len(project.versions()), "each revision ran in exactly one process"


def test_concurrent_downgrades_and_upgrades_leave_a_consistent_database(project):
    """Mixed commands at once: each runs whole, one after the other, and all exit 0."""
    base = project.head()
    add_logged_revisions(project)
    project.manage("db", "upgrade")
    runs = [Started(project, "db", *args) for args in
            # The downgrades drop upgrade_log's rows: the data gate wants that acknowledged.
            (["downgrade", "-1", "--allow-data-loss"], ["upgrade"],
             ["downgrade", "-1", "--allow-data-loss"], ["upgrade"])]
    results = [run.finish() for run in runs]
    assert [code for code, _, _ in results] == [0] * 4, [err for _, _, err in results]
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


@pytest.mark.parametrize("args", [["upgrade"], ["downgrade", "base"], ["stamp", "base"]],
                         ids=["upgrade", "downgrade", "stamp"])
def test_commands_that_move_the_revision_wait_for_the_lock(project, held_lock, args):
    if args[0] != "upgrade":
        project.manage("db", "upgrade")
    before = version(project)
    with held_lock:
        run = Started(project, "db", *args)
        assert run.waiting.wait(timeout=60), "".join(run.stderr_lines)
        # Still blocked: nothing has changed while the lock is held.
        assert run.process.poll() is None
        assert version(project) == before
    code, _, err = run.finish()
    assert code == 0, err
    assert version(project) == ([project.head()] if args[0] == "upgrade" else [])


def test_waiting_is_bounded_by_migration_lock_timeout(project, held_lock):
    with held_lock:
        started = time.monotonic()
        result = project.manage("db", "upgrade", check=False, env={"MIGRATION_LOCK_TIMEOUT": "1"})
        elapsed = time.monotonic() - started
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "Error:" in line]
    assert len(errors) == 1
    assert "gave up after 1 s waiting for the" in errors[0] and "lock" in errors[0]
    assert "Run the command again when it has finished" in errors[0]
    assert elapsed < 30
    assert project.database.tables() == set()


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
