"""Test databases on SQLite files or the MariaDB server: fresh and empty, or at head.

A database at head is where most tests start. Building one runs every migration, which costs
about a second on MariaDB, so each test process (pytest-xdist worker) builds it once per
backend and reuses it: a SQLite file is copied, and the MariaDB database is emptied after each
test, or rebuilt when the test changed its schema.
"""
import functools
import os
import shutil
import uuid

import pytest
from sqlalchemy import MetaData, Table, create_engine, inspect, select, text
from sqlalchemy.engine import make_url

# The server for MariaDB runs; override with TEST_MARIADB_URL (a server URL, no database).
MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
BACKENDS = ("sqlite", "mariadb")

# The backend parameter of every test that uses a database; `-m "not mariadb"` leaves MariaDB out.
BACKEND_PARAMS = [pytest.param("sqlite"), pytest.param("mariadb", marks=pytest.mark.mariadb)]
# For tests that mean something on one backend only (each says why where it is used).
sqlite_only = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
mariadb_only = pytest.mark.parametrize("backend", [BACKEND_PARAMS[1]], indirect=True)
# For tests of a project copy whose commands stop before any database is reached: once is enough.
database_unused = sqlite_only


def mariadb_available():
    try:
        engine = create_engine(MARIADB_SERVER_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


def _mariadb_url(name):
    return make_url(MARIADB_SERVER_URL).set(
        database=name, query={"charset": "utf8mb4"}).render_as_string(hide_password=False)


@functools.cache
def _server():
    # One per test process, kept: creating and dropping databases is frequent.
    return create_engine(MARIADB_SERVER_URL, isolation_level="AUTOCOMMIT")


def create_mariadb_database(prefix="test"):
    """A new, empty utf8mb4 database on the server; (name, url)."""
    name = f"{prefix}_{uuid.uuid4().hex[:16]}"
    with _server().connect() as conn:
        conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                          "COLLATE utf8mb4_unicode_ci"))
    return name, _mariadb_url(name)


def drop_mariadb_database(name):
    with _server().connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS `{name}`"))


def upgrade_to_head(url):
    """Run every migration on the database at *url*, in this process."""
    import flask_migrate

    from app import create_app
    from exts import db
    from tests.cli import logging_as_found

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})
    with app.app_context(), logging_as_found():
        flask_migrate.upgrade()
        db.engine.dispose()


# What a test may change in a MariaDB database at head without it being rebuilt: nothing of
# the schema, nor the revision.
_SCHEMA = [
    "SELECT table_name, engine, table_collation FROM information_schema.tables "
    "WHERE table_schema = DATABASE() ORDER BY table_name",
    "SELECT table_name, column_name, column_type, is_nullable, column_default, collation_name, "
    "extra FROM information_schema.columns WHERE table_schema = DATABASE() "
    "ORDER BY table_name, ordinal_position",
    "SELECT table_name, index_name, seq_in_index, column_name, non_unique "
    "FROM information_schema.statistics WHERE table_schema = DATABASE() "
    "ORDER BY table_name, index_name, seq_in_index",
    "SELECT constraint_name, table_name, referenced_table_name, delete_rule "
    "FROM information_schema.referential_constraints WHERE constraint_schema = DATABASE() "
    "ORDER BY constraint_name",
    "SELECT constraint_name, table_name, check_clause FROM information_schema.check_constraints "
    "WHERE constraint_schema = DATABASE() ORDER BY constraint_name",
    "SELECT version_num FROM alembic_version ORDER BY version_num",
]


class _MariaDBAtHead:
    """This process's MariaDB database at head, emptied between the tests that use it."""

    def __init__(self):
        self.name = self.url = self._schema = self._engine = None

    def checkout(self):
        if self.name is None:
            self.name, self.url = create_mariadb_database("test_head")
            upgrade_to_head(self.url)
            # One connection of its own, kept: a new one per test costs more than the checks.
            self._engine = create_engine(self.url, pool_size=1)
            self._schema = self._read_schema()
        return self.name, self.url

    def _read_schema(self):
        with self._engine.connect() as conn:
            return [conn.execute(text(sql)).all() for sql in _SCHEMA]

    def checkin(self):
        """Empty the tables the test wrote to; a test that changed the schema costs a rebuild."""
        try:
            intact = self._read_schema() == self._schema and self._empty()
        except Exception:  # a lock held past its wait by a leftover connection, say
            intact = False
        if not intact:
            self.discard()

    def _empty(self):
        with self._engine.connect() as conn:
            # Never wait long on a leftover connection's locks: a rebuild is cheaper.
            conn.execute(text("SET SESSION lock_wait_timeout = 10"))
            used = conn.execute(text(
                "SELECT table_name FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name != 'alembic_version' "
                "AND (auto_increment > 1 OR table_rows > 0)")).scalars().all()
            tables = inspect(conn).get_table_names()
            written = [t for t in tables if t != "alembic_version" and (
                t in used or conn.execute(text(f"SELECT 1 FROM `{t}` LIMIT 1")).first())]
            conn.execute(text("SET SESSION foreign_key_checks = 0"))
            try:
                for table in written:  # TRUNCATE also restarts AUTO_INCREMENT at 1
                    conn.execute(text(f"TRUNCATE TABLE `{table}`"))
            finally:
                conn.execute(text("SET SESSION foreign_key_checks = 1"))
        return True

    def discard(self):
        if self._engine is not None:
            self._engine.dispose()
        if self.name is not None:
            drop_mariadb_database(self.name)
        self.name = self.url = self._schema = self._engine = None


class HeadDatabases:
    """Where this test process gets databases at head, per backend."""

    def __init__(self, folder):
        self._folder = folder
        self._sqlite_template = None
        self._mariadb = _MariaDBAtHead()

    def sqlite_file(self, path):
        """Make *path* a SQLite database at head (a copy of one migrated once)."""
        if self._sqlite_template is None:
            template = self._folder / "head.db"
            upgrade_to_head(f"sqlite:///{template}")
            self._sqlite_template = template
        shutil.copyfile(self._sqlite_template, path)

    def mariadb(self):
        return self._mariadb

    def close(self):
        self._mariadb.discard()


class Database:
    """One test's database: empty, or at head after ``at_head()``; gone after ``close()``.

    *heads* (a HeadDatabases) lends databases at head; without it ``at_head()`` migrates.
    """

    def __init__(self, backend, tmp_path, heads=None):
        self.backend = backend
        self.name = None
        self._path = tmp_path / "test.db"
        self._heads = heads
        self._url = None
        self._engine = None
        self._pooled = False

    @property
    def url(self):
        if self._url is None:
            if self.backend == "sqlite":
                self._url = f"sqlite:///{self._path}"
            else:
                self.name, self._url = create_mariadb_database()
        return self._url

    @property
    def engine(self):
        """An engine of the test's own, for looking inside (not the app's)."""
        if self._engine is None:
            self._engine = create_engine(self.url)
        return self._engine

    def at_head(self):
        """Bring the database to the migrations' head, reusing a ready one when still unused."""
        if self._url is not None or self._heads is None:
            upgrade_to_head(self.url)
        elif self.backend == "sqlite":
            self._heads.sqlite_file(self._path)
            self._url = f"sqlite:///{self._path}"
        else:
            self.name, self._url = self._heads.mariadb().checkout()
            self._pooled = True
        return self

    def tables(self):
        """Names of the tables in the database now."""
        return set(inspect(self.engine).get_table_names())

    def columns(self, table):
        """The columns of *table* as the database reports them (name, type, nullable...)."""
        return inspect(self.engine).get_columns(table)

    def rows(self, table):
        """Every row of *table* as dicts, ordered by id when it has one."""
        reflected = Table(table, MetaData(), autoload_with=self.engine)
        query = select(reflected)
        if "id" in reflected.c:
            query = query.order_by(reflected.c.id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def revisions(self):
        """What alembic_version says: [] when it is empty or missing."""
        if "alembic_version" not in self.tables():
            return []
        return [row[0] for row in self.execute("SELECT version_num FROM alembic_version")]

    def execute(self, sql, params=None):
        with self.engine.begin() as conn:
            result = conn.execute(text(sql), params or {})
            return result.fetchall() if result.returns_rows else None

    def close(self):
        if self._engine is not None:
            self._engine.dispose()
        if self._pooled:
            self._heads.mariadb().checkin()
        elif self.name is not None:
            drop_mariadb_database(self.name)
