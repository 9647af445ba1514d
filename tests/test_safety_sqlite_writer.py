"""A writer keeps inserting while a SQLite batch rebuild re-creates its table: nothing is lost."""
import subprocess
import sys
import time

from tests.backends import sqlite_only
from tests.schema_safety_support import seed

# Inserts one row per transaction and prints each id once its COMMIT has returned.
WRITER = """
import sqlite3, sys, time, os
connection = sqlite3.connect(sys.argv[1], timeout=60, isolation_level=None)
stop = sys.argv[2]
while not os.path.exists(stop):
    connection.execute("BEGIN IMMEDIATE")
    cursor = connection.execute(
        "INSERT INTO login_failure (email, create_time) VALUES ('w@example.com', '2026-01-01')")
    connection.execute("COMMIT")
    print(cursor.lastrowid, flush=True)
    time.sleep(0.002)
"""


@sqlite_only  # MySQL alters the table in place
def test_rows_committed_during_a_table_rebuild_are_all_there_afterwards(project, tmp_path):
    seed(project)
    rows = ", ".join(f"('old{i}@example.com', '2026-01-01')" for i in range(20000))
    project.database.execute(f"INSERT INTO login_failure (email, create_time) VALUES {rows}")
    project.add_revision("w1", "longer login failure email", """
        with op.batch_alter_table('login_failure') as batch_op:
            batch_op.alter_column('email', existing_type=sa.String(100), type_=sa.String(120),
                                  existing_nullable=False)
    """)
    path = project.database.url[len("sqlite:///"):]
    stop = tmp_path / "stop"
    writer = subprocess.Popen([sys.executable, "-c", WRITER, path, str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(0.5)  # the writer is writing before the migration starts
        project.manage("db", "upgrade")
        time.sleep(0.3)  # and after it ends
    finally:
        stop.touch()
        out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    committed = [int(line) for line in out.split()]
    assert len(committed) > 10, "the writer hardly ran"
    present = {row[0] for row in project.database.execute(
        "SELECT id FROM login_failure WHERE email = 'w@example.com'")}
    assert set(committed) <= present
    assert project.database.execute("SELECT COUNT(*) FROM login_failure WHERE email LIKE "
                                    "'old%'")[0][0] == 20000
    assert project.database.execute("SELECT version_num FROM alembic_version") == [("w1",)]
