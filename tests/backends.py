"""Fresh, empty databases for tests, on SQLite or on the MariaDB server on 127.0.0.1:3306."""
import os
import uuid

from sqlalchemy import create_engine, inspect, select, text
from sqlalchemy.engine import make_url

# The server for MariaDB runs; override with TEST_MARIADB_URL (a server URL, no database).
MARIADB_SERVER_URL = os.environ.get("TEST_MARIADB_URL", "mysql+pymysql://root@127.0.0.1:3306/")
BACKENDS = ("sqlite", "mariadb")


def mariadb_available():
    try:
        engine = create_engine(MARIADB_SERVER_URL, connect_args={"connect_timeout": 3})
        with engine.connect():
            pass
        engine.dispose()
        return True
    except Exception:
        return False


class Database:
    """One fresh database: ``url`` to hand to the app, helpers to look inside."""

    def __init__(self, backend, tmp_path):
        self.backend = backend
        if backend == "sqlite":
            self.url = f"sqlite:///{tmp_path / 'test.db'}"
            self._server = None
        else:
            name = f"test_{uuid.uuid4().hex[:16]}"
            self._server = create_engine(MARIADB_SERVER_URL)
            with self._server.begin() as conn:
                conn.execute(text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 "
                                  "COLLATE utf8mb4_unicode_ci"))
            self.url = make_url(MARIADB_SERVER_URL).set(
                database=name, query={"charset": "utf8mb4"}
            ).render_as_string(hide_password=False)
            self.name = name
        self.engine = create_engine(self.url)

    def tables(self):
        """Names of the tables in the database now."""
        return set(inspect(self.engine).get_table_names())

    def columns(self, table):
        """The columns of *table* as the database reports them (name, type, nullable...)."""
        return inspect(self.engine).get_columns(table)

    def rows(self, table):
        """Every row of *table* as dicts, ordered by id when it has one."""
        from sqlalchemy import MetaData, Table

        reflected = Table(table, MetaData(), autoload_with=self.engine)
        query = select(reflected)
        if "id" in reflected.c:
            query = query.order_by(reflected.c.id)
        with self.engine.connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def execute(self, sql, params=None):
        with self.engine.begin() as conn:
            result = conn.execute(text(sql), params or {})
            return result.fetchall() if result.returns_rows else None

    def drop(self):
        self.engine.dispose()
        if self._server is not None:
            with self._server.begin() as conn:
                conn.execute(text(f"DROP DATABASE IF EXISTS `{self.name}`"))
            self._server.dispose()
