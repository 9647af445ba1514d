"""Does `db upgrade` block writes to a big MariaDB table? Prints each change's figures."""
#     .venv/bin/python bench/online_ddl.py          # 1,000,000 rows; BENCH_ROWS=... to change
#
# A scratch copy of the project migrates a scratch database on the MariaDB server of the tests
# (TEST_MARIADB_URL, default root@127.0.0.1:3306) while a writer inserts into the same table
# without pause; for each change it prints how long the upgrade took and the longest any one
# write waited meanwhile, side by side with the writer's usual wait.

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
SERVER = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
ITEMS = ["manage.py", "app.py", "exts.py", "models.py", "setting.py", "compat.py",
         "migrations", "migration_safety", "blueprints", "cli", "templates", "static"]

CHANGES = [
    ("add a nullable column", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """, []),
    ("add an index", """
        op.create_index('ix_question_title', 'question', ['title'])
    """, []),
    ("narrow a VARCHAR (copies the table)", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(150),
                                  existing_nullable=False)
    """, ["--allow-table-copy"]),
]


class Writer(threading.Thread):
    """Inserts one question at a time, committing each, and times every insert."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
        self.waits = []
        self.stop = threading.Event()

    def run(self):
        with self.engine.connect() as connection:
            insert = sa.text("INSERT INTO question (title, content, create_time, author_id) "
                             "VALUES ('written meanwhile', 'w', NOW(), 1)")
            while not self.stop.is_set():
                started = time.perf_counter()
                connection.execute(insert)
                self.waits.append(time.perf_counter() - started)
        self.engine.dispose()


def manage(project, url, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_CONFIG", "DATABASE_URL")}
    env.update(FLASK_CONFIG="development", DATABASE_URL=url, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=project, env=env,
                          capture_output=True, text=True)


def add_revision(project, rev_id, down, message, body):
    path = project / "migrations" / "versions" / f"29990101_{rev_id}_bench.py"
    path.write_text(
        f'"""{message}\n\nRevision ID: {rev_id}\n"""\nfrom alembic import op\n'
        f"import sqlalchemy as sa\n\nrevision = {rev_id!r}\ndown_revision = {down!r}\n"
        "branch_labels = None\ndepends_on = None\n\n\ndef upgrade():\n"
        + textwrap.indent(textwrap.dedent(body).strip(), "    ")
        + "\n\n\ndef downgrade():\n    pass\n")


def main():
    server = sa.create_engine(SERVER)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with server.begin() as connection:
        connection.execute(sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                                   "COLLATE utf8mb4_unicode_ci"))
    url = make_url(SERVER).set(database=name, query={"charset": "utf8mb4"}).render_as_string(
        hide_password=False)
    scratch = Path(tempfile.mkdtemp(prefix="online-ddl-"))
    try:
        project = scratch / "project"
        project.mkdir()
        for item in ITEMS:
            source = ROOT / item
            if source.is_dir():
                shutil.copytree(source, project / item,
                                ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy2(source, project / item)
        assert manage(project, url, "db", "upgrade").returncode == 0
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            connection.execute(sa.text(
                "INSERT INTO user (id, username, email, password_hash, join_time) "
                "VALUES (1, 'bench', 'bench@example.com', 'x', NOW())"))
            connection.execute(sa.text(
                "INSERT INTO question (title, content, create_time, author_id) "
                f"SELECT CONCAT('question ', seq), 'c', NOW(), 1 FROM seq_1_to_{ROWS}"))
        head = manage(project, url, "db", "current").stdout.split()[0]
        print(f"MariaDB online DDL, question table of {ROWS:,} rows, one writer inserting "
              "throughout:")
        for number, (label, body, args) in enumerate(CHANGES, 1):
            rev_id = f"b{number}" * 6
            add_revision(project, rev_id, head, label, body)
            head = rev_id
            refused = ""
            if args:
                # Without the option the change is refused before any DDL.
                first = manage(project, url, "db", "upgrade")
                refused = " (refused without --allow-table-copy)" if first.returncode == 1 \
                    and "refused" in first.stderr else " (NOT refused without the option!)"
            writer = Writer(url)
            writer.start()
            time.sleep(1.0)  # the writer's usual wait, before the change
            usual = statistics.median(writer.waits)
            before = len(writer.waits)
            started = time.perf_counter()
            result = manage(project, url, "db", "upgrade", *args)
            took = time.perf_counter() - started
            time.sleep(0.5)
            writer.stop.set()
            writer.join()
            during = writer.waits[before:]
            if result.returncode != 0:
                print(f"  {label}: FAILED\n{result.stderr}")
                return 1
            print(f"  {label}: db upgrade {took:.2f} s; longest write wait {max(during):.3f} s "
                  f"(usual {usual * 1000:.1f} ms, {len(during)} writes meanwhile){refused}")
        engine.dispose()
        return 0
    finally:
        with server.begin() as connection:
            connection.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
        server.dispose()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
