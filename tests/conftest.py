"""Fixtures: the app on a real database (SQLite and MariaDB), a real SMTP server, project copies."""
import compat  # noqa: F401  (before anything imports flask_migrate)

import contextlib
import os

import pytest
from jinja2 import BytecodeCache

from app import create_app
from exts import db
from tests.cli import APP_VARIABLES
from tests.backends import BACKEND_PARAMS, Database, HeadDatabases, mariadb_available
from tests.mail import start_smtp_server
from tests.project import Project
from tests.queue_support import RABBITMQ_ADDRESS, rabbitmq_available
from tests.site import IsolatedClient, Site

# The servers some tests need, by the marker those tests carry: how to tell one answers, and
# what to say when none does.
SERVERS = {
    "mariadb": (mariadb_available, "no MariaDB server answers on 127.0.0.1:3306"),
    "rabbitmq": (rabbitmq_available, f"no RabbitMQ broker answers on {RABBITMQ_ADDRESS}"),
}


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


@pytest.hookimpl(trylast=True)  # after -m has deselected what it leaves out
def pytest_collection_modifyitems(config, items):
    """Without a MariaDB server or a RabbitMQ broker their tests are skipped, and under CI
    the run is refused."""
    for marker, (available, absent) in SERVERS.items():
        wanted = [item for item in items if item.get_closest_marker(marker)]
        if not wanted or available():
            continue
        if os.environ.get("CI") == "true":
            raise pytest.UsageError(f"{absent}, and CI requires one")
        for item in wanted:
            item.add_marker(pytest.mark.skip(reason=f"{absent}: start one to run these"))


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
def make_app(database, smtp_server):
    """make_app(**settings): the testing app on the test's database at head, mailing to the
    loopback SMTP server unless *settings* say otherwise; in its app context until the end."""
    database.at_head()
    with contextlib.ExitStack() as stack:
        def make(**settings):
            app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url,
                                         "MAIL_SERVER": smtp_server.hostname,
                                         "MAIL_PORT": smtp_server.port, **settings})
            app.jinja_env.bytecode_cache = COMPILED_TEMPLATES
            stack.enter_context(app.app_context())
            stack.callback(db.engine.dispose)
            stack.callback(db.session.remove)
            return app

        yield make


@pytest.fixture
def app(make_app):
    """The testing app on the test's database at head, mailing to the loopback SMTP server."""
    return make_app()


@pytest.fixture
def client(app):
    return IsolatedClient.of(app)


@pytest.fixture
def site(client, mailbox):
    return Site(client, mailbox)


@pytest.fixture
def project(tmp_path, database):
    """A copy of the project on the test's database (empty: a test runs db upgrade itself)."""
    return Project.copy(tmp_path / "qa-project", database)
