"""Shared fixtures: an in-process app on a real SQLite file, and scratch copies of the project."""
import compat  # noqa: F401  (before anything imports flask_migrate)

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import flask_migrate
import pytest
from alembic.script import ScriptDirectory

from app import create_app
from exts import db
from tests.backends import BACKENDS, Database, mariadb_available

ROOT = Path(__file__).resolve().parents[1]
# What a user's checkout holds that the app needs at run time.
PROJECT_ITEMS = ["manage.py", "app.py", "exts.py", "models.py", "setting.py", "compat.py",
                 "migrations", "migrating", "blueprints", "cli", "templates", "static",
                 "gunicorn.conf.py", "deploy", "schema_safety"]
# Variables of the developer's shell that would leak into the app under test.
APP_VARIABLES = ["FLASK_CONFIG", "DATABASE_URL", "SECRET_KEY", "FLASK_APP", "FLASK_DEBUG",
                 "DATABASE_POOL_RECYCLE", "MIGRATION_LOCK_TIMEOUT", "PORT", "WEB_CONCURRENCY",
                 "GUNICORN_BIND", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "WERKZEUG_RUN_MAIN"]


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


@pytest.fixture
def app(database):
    """The app on a fresh database upgraded to head by the real migrations."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    with app.app_context():
        flask_migrate.upgrade()
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app):
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
