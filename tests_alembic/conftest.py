"""pytest-alembic's own tests on our migrations, set up as a peer project would set them up."""
# Run: python -m pytest -c tests_alembic/pytest.ini tests_alembic --alembic-backend sqlite
# (or mariadb). pytest-alembic hands env.py an engine, or a connection inside its own
# transaction, in config.attributes["connection"]: env.py migrates on it.

import compat  # noqa: F401  (before anything imports flask_migrate)

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.config import Config

from app import create_app
from tests.backends import BACKENDS, Database, mariadb_available

MIGRATIONS = Path(__file__).resolve().parents[1] / "migrations"


def pytest_addoption(parser):
    parser.addoption("--alembic-backend", choices=BACKENDS,
                     default=os.environ.get("TEST_BACKEND", "sqlite"),
                     help="database pytest-alembic migrates (default: sqlite, or $TEST_BACKEND)")


@pytest.fixture
def database(request, tmp_path):
    backend = request.config.getoption("--alembic-backend")
    if backend == "mariadb" and not mariadb_available():
        pytest.exit("--alembic-backend mariadb: no MariaDB server answers on 127.0.0.1:3306",
                    returncode=3)
    database = Database(backend, tmp_path)
    yield database
    database.close()


@pytest.fixture
def alembic_config():
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def _savepoints_on_pysqlite(engine):
    # pysqlite's own transaction handling would commit before DDL and break the SAVEPOINTs
    # downgrade_leaves_no_trace wraps each step in; without it, a SAVEPOINT opens the
    # transaction itself (and env.py's lock sends its own BEGIN IMMEDIATE otherwise).
    @sa.event.listens_for(engine, "connect")
    def do_connect(dbapi_connection, connection_record):
        dbapi_connection.isolation_level = None


@pytest.fixture
def alembic_engine(database):
    """The engine pytest-alembic migrates; env.py runs in the app's context on the same
    database, as under manage.py."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    engine = sa.create_engine(database.url)
    if engine.dialect.name == "sqlite":
        _savepoints_on_pysqlite(engine)
    with app.app_context():
        yield engine
    engine.dispose()
