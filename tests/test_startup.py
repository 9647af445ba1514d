"""What every start of manage.py imports: the framework and the app, not what only a few
commands use (bench/startup times it against the framework's own imports)."""
import subprocess
import sys

import pytest

import migration_safety
from tests.cli import ROOT, process_environ

# Each loads at its first use: by a migration (Safety and its parts), db kept and db recover
# (the keeps and the units), db check, adopt and stamp
# (schema comparison), the first email address checked or mailed (email_validator), a broker
# (Celery), a MySQL database (PyMySQL: the app below is on SQLite).
NOT_AT_START = {"migration_safety.safety", "migration_safety.gate", "migration_safety.keep",
                "migration_safety.units", "migration_safety.online", "migration_safety.review",
                "migration_safety.check", "migration_safety.adopt", "email_validator", "celery",
                "kombu", "pymysql"}


def imported_by(argv, **settings):
    """The modules a Python process running *argv* imported (``-X importtime``'s list)."""
    result = subprocess.run([sys.executable, "-X", "importtime", *argv], cwd=ROOT,
                            env=process_environ(**settings), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return {line.rpartition("|")[2].strip() for line in result.stderr.splitlines()
            if line.startswith("import time:")}


def test_manage_py_help_imports_none_of_what_only_some_commands_use():
    modules = imported_by(["manage.py", "--help"], FLASK_CONFIG="development")
    assert {"flask_script", "flask_migrate", "alembic", "models"} <= modules  # what it needs
    assert modules & NOT_AT_START == set()


def test_the_package_gives_safety_and_include_name_at_first_use():
    from migration_safety.names import include_name
    from migration_safety.safety import Safety

    assert migration_safety.Safety is Safety
    assert migration_safety.include_name is include_name
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        migration_safety.nothing  # noqa: B018
