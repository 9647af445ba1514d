"""Shared fixtures: an in-process app on a real SQLite file, and scratch copies of the project."""
import compat  # noqa: F401  (before anything imports flask_migrate)

import email
import email.policy
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import flask_migrate
import pytest
from alembic.script import ScriptDirectory
from aiosmtpd.controller import Controller
from flask.testing import FlaskClient

from app import create_app
from exts import db
from tests.backends import BACKENDS, Database, mariadb_available
from tests.http import free_port

ROOT = Path(__file__).resolve().parents[1]
# What a user's checkout holds that the app needs at run time.
PROJECT_ITEMS = ["manage.py", "app.py", "exts.py", "models.py", "setting.py", "compat.py",
                 "migrations", "migration_safety", "blueprints", "cli", "templates", "static",
                 "gunicorn.conf.py", "deploy"]
# Variables of the developer's shell that would leak into the app under test.
APP_VARIABLES = ["FLASK_CONFIG", "DATABASE_URL", "SECRET_KEY", "FLASK_APP", "FLASK_DEBUG",
                 "DATABASE_POOL_RECYCLE", "MIGRATION_LOCK_TIMEOUT", "PORT", "WEB_CONCURRENCY",
                 "GUNICORN_BIND", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "WERKZEUG_RUN_MAIN",
                 "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME",
                 "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "PAGE_CACHE_SIZE"]


def pytest_addoption(parser):
    parser.addoption("--backend", choices=BACKENDS, default=os.environ.get("TEST_BACKEND", "sqlite"),
                     help="database the tests run on (default: sqlite, or $TEST_BACKEND)")


def pytest_report_header(config):
    return f"database backend: {config.getoption('--backend')}"


@pytest.fixture(scope="session")
def backend(request):
    name = request.config.getoption("--backend")
    if name == "mariadb" and not mariadb_available():
        pytest.exit("--backend mariadb: no MariaDB server answers on 127.0.0.1:3306", returncode=3)
    return name


@pytest.fixture
def database(backend, tmp_path):
    """A fresh, empty database on the selected backend, dropped afterwards."""
    database = Database(backend, tmp_path)
    yield database
    database.drop()


class Mailbox:
    """What a real SMTP server on loopback (aiosmtpd) received; its DATA handler."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append(message)
        return "250 Message accepted for delivery"

    def codes_for(self, address):
        """The 6-digit codes mailed to *address*, oldest first."""
        return [re.search(r"\b(\d{6})\b", m.get_content()).group(1)
                for m in self.messages if m["To"] == address]

    def last_code(self, address):
        codes = self.codes_for(address)
        assert codes, f"no mail reached {address}"
        return codes[-1]


@pytest.fixture(scope="session")
def smtp_server():
    controller = Controller(Mailbox(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller
    controller.stop()


@pytest.fixture
def mailbox(smtp_server):
    smtp_server.handler.messages.clear()
    return smtp_server.handler


@pytest.fixture
def app(database, smtp_server):
    """The app on a fresh database upgraded to head by the real migrations, mailing to aiosmtpd."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url,
                                 "MAIL_SERVER": smtp_server.hostname,
                                 "MAIL_PORT": smtp_server.port})
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a server does.

    The ``app`` fixture keeps an app context open for the test's own queries; a request pushed
    inside it would share its ``g`` (and Flask-WTF's CSRF token cached there) with every other.
    """

    def open(self, *args, **kwargs):
        # Ends the test's own transaction, which on MariaDB (REPEATABLE READ) would otherwise
        # keep reading the snapshot taken before the request.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)


@pytest.fixture
def client(app):
    app.test_client_class = IsolatedClient
    return app.test_client()


class Project:
    """A scratch copy of the project whose CLI runs in subprocesses, as a user runs it."""

    def __init__(self, root, database):
        self.root = root
        self.database = database
        self.database_url = database.url

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
        env.update(FLASK_CONFIG="development", DATABASE_URL=self.database_url,
                   PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
        env.update(extra)
        return env

    def run(self, *args, check=True, input=None, env=None, timeout=120):
        result = subprocess.run(
            [sys.executable, *args], cwd=self.root, env=self.env(**(env or {})), input=input,
            capture_output=True, text=True, timeout=timeout,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"{' '.join(args)} exited {result.returncode}\n"
                f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
            )
        return result

    def manage(self, *args, **kwargs):
        return self.run("manage.py", *args, **kwargs)

    def versions(self):
        return sorted(p.name for p in (self.root / "migrations" / "versions").glob("*.py"))

    def head(self):
        """The head revision of this copy's migrations."""
        return ScriptDirectory(str(self.root / "migrations")).get_current_head()

    def add_revision(self, rev_id, message, upgrade, downgrade="pass"):
        """Write a revision on top of the current head; *upgrade*/*downgrade* are bodies."""
        def body(code):
            return textwrap.indent(textwrap.dedent(code).strip(), "    ")

        head = self.head()
        slug = message.replace(" ", "_").replace(":", "")
        path = self.root / "migrations" / "versions" / f"29990101_{rev_id}_{slug}.py"
        path.write_text(
            f'"""{message}\n\nRevision ID: {rev_id}\nRevises: {head}\n"""\n'
            "from alembic import op\nimport sqlalchemy as sa\n\n"
            f"revision = {rev_id!r}\ndown_revision = {head!r}\n"
            "branch_labels = None\ndepends_on = None\n\n\n"
            f"def upgrade():\n{body(upgrade)}\n\n\ndef downgrade():\n{body(downgrade)}\n"
        )
        return path


@pytest.fixture
def project(tmp_path, database):
    root = tmp_path / "project"
    root.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for item in PROJECT_ITEMS:
        source = ROOT / item
        if source.is_dir():
            shutil.copytree(source, root / item, ignore=ignore)
        elif source.exists():
            shutil.copy2(source, root / item)
    return Project(root, database)


CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
PASSWORD = "correct horse battery"


def csrf_token(html):
    tag = CSRF_INPUT.search(html)
    assert tag, "the page has no csrf_token field"
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


class Site:
    """What a visitor does, through the test client: every form posted with its CSRF token."""

    def __init__(self, client, mailbox):
        self.client = client
        self.mailbox = mailbox

    def token(self, path="/auth/register"):
        return csrf_token(self.client.get(path).get_data(as_text=True))

    def send_code(self, address, headers=None):
        headers = {"X-CSRFToken": self.token(), **(headers or {})}
        return self.client.post("/auth/captcha/email", data={"email": address}, headers=headers)

    def register(self, address="ann@example.com", password=PASSWORD, username="ann", code=None,
                 **fields):
        if code is None:
            assert self.send_code(address).status_code == 200
            code = self.mailbox.last_code(address)
        data = {"email": address, "captcha": code, "username": username, "password": password,
                "password_confirm": password, "csrf_token": self.token()}
        data.update(fields)
        return self.client.post("/auth/register",
                                data={k: v for k, v in data.items() if v is not None})

    def login(self, address="ann@example.com", password=PASSWORD, next=None):
        data = {"email": address, "password": password, "csrf_token": self.token("/auth/login")}
        url = "/auth/login" + (f"?next={next}" if next else "")
        return self.client.post(url, data=data)

    def signed_up(self, address="ann@example.com", username="ann"):
        """Register and log in; the user's id."""
        assert self.register(address, username=username).status_code == 302
        assert self.login(address).status_code == 302
        with self.client.session_transaction() as session:
            return session["user_id"]

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": self.token("/")})

    def ask(self, title="How do I paginate?", content="With LIMIT and OFFSET?"):
        return self.client.post("/qa/public", data={"title": title, "content": content,
                                                    "csrf_token": self.token("/qa/public")})

    def answer(self, question_id, content="Use db.paginate."):
        return self.client.post("/answer/public", data={
            "content": content, "question_id": question_id,
            "csrf_token": self.token(f"/qa/detail/{question_id}")})


@pytest.fixture
def site(client, mailbox):
    return Site(client, mailbox)
