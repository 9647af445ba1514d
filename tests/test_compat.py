"""compat.py makes every Flask-Script feature we use work on Flask 3.1 and Python 3.11."""
import inspect
import subprocess
import sys

import flask
import flask_migrate
from flask_script import Command, Manager, Option, Server, Shell

import compat
from tests.cli import ROOT


def test_flask_compat_module_supplies_text_type():
    from flask._compat import text_type

    assert text_type is str


def test_migrate_command_is_a_real_manager_not_the_stub():
    assert isinstance(flask_migrate.MigrateCommand, Manager)
    assert {"init", "migrate", "upgrade", "downgrade", "stamp"} <= set(
        flask_migrate.MigrateCommand._commands
    )


def test_request_ctx_stack_top_follows_the_request_context(app):
    stack = flask._request_ctx_stack
    assert stack.top is None
    with app.test_request_context("/"):
        assert stack.top.app is app
        assert stack.top.request.path == "/"
    assert stack.top is None


def test_getargspec_matches_the_old_signature():
    def sample(app, name, loud=False, *rest, **options):
        pass

    spec = inspect.getargspec(sample)
    assert spec.args == ["app", "name", "loud"]
    assert spec.varargs == "rest"
    assert spec.keywords == "options"
    assert spec.defaults == (False,)


def test_install_twice_changes_nothing():
    before = (sys.modules["flask._compat"], flask._request_ctx_stack, inspect.getargspec)
    compat.install()
    assert (sys.modules["flask._compat"], flask._request_ctx_stack, inspect.getargspec) == before


def test_manager_command_decorator_builds_options_from_arguments(app, capsys):
    manager = Manager(app)

    @manager.command
    def greet(name, shout=False):
        """Say hello."""
        print(("hello " + name).upper() if shout else "hello " + name)

    manager.handle("manage.py", ["greet", "Ann"])
    manager.handle("manage.py", ["greet", "Ann", "--shout"])
    assert capsys.readouterr().out.splitlines() == ["hello Ann", "HELLO ANN"]


def test_manager_option_decorator_and_command_class(app, capsys):
    manager = Manager(app)

    @manager.option("-n", "--name", dest="name", default="world")
    def hello(name):
        print("hello", name)

    class Where(Command):
        option_list = (Option("--upper", action="store_true", dest="upper"),)

        def run(self, upper):
            # Commands run inside a request context with the app.
            name = flask.current_app.name
            print(name.upper() if upper else name)

    manager.add_command("where", Where())
    manager.handle("manage.py", ["hello", "-n", "Bo"])
    manager.handle("manage.py", ["where", "--upper"])
    assert capsys.readouterr().out.splitlines() == ["hello Bo", app.name.upper()]


def test_default_shell_context_is_the_app(app):
    shell = Shell()
    with app.test_request_context():
        assert shell.get_context() == {"app": app}


def test_server_parses_host_and_port(app):
    parser = Server().create_parser("runserver")
    options = parser.parse_args(["-h", "0.0.0.0", "-p", "8001", "--threaded"])
    assert (options.host, options.port, options.threaded) == ("0.0.0.0", 8001, True)


def test_importing_compat_after_flask_migrate_fails_loudly():
    code = "import flask_migrate, compat"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode != 0
    assert "import compat first" in result.stderr


def test_without_compat_flask_script_does_not_import():
    # Guards the reason compat exists: if a future Flask brings these back, drop compat.py.
    result = subprocess.run([sys.executable, "-c", "import flask_script"], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == "ModuleNotFoundError: No module named 'flask._compat'"


def test_without_compat_flask_migrate_silently_loses_migrate_command():
    code = "import flask_migrate; print(flask_migrate.Manager, type(flask_migrate.MigrateCommand))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert (result.returncode, result.stderr) == (0, "")
    assert result.stdout == "None <class 'flask_migrate.FakeCommand'>\n"
