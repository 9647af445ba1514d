"""Fixtures: the app on a real database (SQLite and MariaDB), a real SMTP server, project copies."""
import compat  # noqa: F401  (before anything imports flask_migrate)

import os

import pytest
from jinja2 import BytecodeCache

from app import create_app
from exts import db
from tests.cli import APP_VARIABLES
from tests.backends import BACKEND_PARAMS, Database, HeadDatabases, mariadb_available
from tests.mail import start_smtp_server
from tests.project import Project
from tests.site import IsolatedClient, Site

NO_MARIADB = "no MariaDB server answers on 127.0.0.1:3306"


class CompiledTemplates(BytecodeCache):
    """Templates compiled once per test process, not once per test's app (keyed by source)."""

    def __init__(self):
        self._code = {}

    def load_bytecode(self, bucket):
        if bucket.key in self._code:
            bucket.bytecode_from_string(self._code[bucket.key])

    def dump_bytecode(self, bucket):
        self._code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


def pytest_collection_modifyitems(config, items):
    """Without a MariaDB server its tests are skipped, and under CI the run is refused."""
    wanted = [item for item in items if item.get_closest_marker("mariadb")]
    if not wanted or mariadb_available():
        return
    if os.environ.get("CI") == "true":
        raise pytest.UsageError(f"{NO_MARIADB}, and CI requires one")
    for item in wanted:
        item.add_marker(pytest.mark.skip(reason=f"{NO_MARIADB}: start one to run these"))


@pytest.fixture
def clean_env(monkeypatch):
    """No app setting from the developer's shell (FLASK_CONFIG, DATABASE_URL, MAIL_*...)."""
    for name in APP_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="session")
def heads(tmp_path_factory):
    """Databases at head, built once per test process and reused."""
    heads = HeadDatabases(tmp_path_factory.mktemp("heads"))
    yield heads
    heads.close()


@pytest.fixture(params=BACKEND_PARAMS)
def backend(request):
    """The database backend of the test: each test that uses a database runs on both."""
    return request.param


@pytest.fixture
def database(backend, tmp_path, heads):
    """The test's database on its backend: empty until something brings it to head."""
    database = Database(backend, tmp_path, heads)
    yield database
    database.close()


@pytest.fixture(scope="session")
def smtp_server():
    server = start_smtp_server()
    yield server
    server.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server.handler


@pytest.fixture
def app(database, smtp_server):
    """The testing app on the test's database at head, mailing to the loopback SMTP server."""
    database.at_head()
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url,
                                 "MAIL_SERVER": smtp_server.hostname,
                                 "MAIL_PORT": smtp_server.port})
    app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


@pytest.fixture
def site(client, mailbox):
    return Site(client, mailbox)


@pytest.fixture
def project(tmp_path, database):
    """A copy of the project on the test's database (empty: a test runs db upgrade itself)."""
    return Project.copy(tmp_path / "qa-project", database)
