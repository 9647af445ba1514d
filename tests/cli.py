"""Run ``manage.py`` and ``flask`` commands in this process, as a new process would run them.

A command gets its own environment variables, working directory, ``sys.argv``, standard
streams and logging configuration, and an app built for it from that environment, as
``python manage.py ...`` builds one at import. Everything is put back afterwards, so commands
cannot leak into each other or into the test.

When a test edited the project's Python code (a model, say), the project's modules are
imported afresh from its folder for the command, and this checkout's are put back afterwards.
Otherwise the modules already imported are reused: importing them again would cost more than
most commands.
"""
import contextlib
import inspect
import io
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import alembic.config
import flask_migrate
from flask.cli import ScriptInfo
from flask.cli import cli as flask_cli
from sqlalchemy import Table, event

ROOT = Path(__file__).resolve().parents[1]
# Variables of the developer's shell that would leak into the app under test.
APP_VARIABLES = ["FLASK_CONFIG", "DATABASE_URL", "SECRET_KEY", "FLASK_APP", "FLASK_DEBUG",
                 "DATABASE_POOL_RECYCLE", "MIGRATION_LOCK_TIMEOUT", "PORT", "WEB_CONCURRENCY",
                 "GUNICORN_BIND", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "WERKZEUG_RUN_MAIN",
                 "MAIL_SERVER", "MAIL_PORT", "MAIL_USE_TLS", "MAIL_USE_SSL", "MAIL_USERNAME",
                 "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER", "PAGE_CACHE_SIZE", "CELERY_BROKER_URL",
                 "MAIL_QUEUE", "MAIL_TIMEOUT", "BROKER_TIMEOUT", "MAIL_RETRY_DELAY",
                 "MAIL_RETRY_MAX_DELAY", "LOG_FORMAT", "LOG_LEVEL"]


def clean_environ(**extra):
    """This process's environment without the app's variables, plus *extra*."""
    env = {k: v for k, v in os.environ.items() if k not in APP_VARIABLES}
    env.update(extra)
    return env


def process_environ(**settings):
    """The environment of a Python process a test starts: this one's without the app's
    variables, output unbuffered (read as it comes), no bytecode written, plus *settings*."""
    return clean_environ(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1",
                         **{name: str(value) for name, value in settings.items()})


@dataclass
class Result:
    """What a command left behind, shaped like ``subprocess.CompletedProcess``."""

    args: list
    returncode: int
    stdout: str
    stderr: str


def run(program, root, args, env, typed=None, input=""):
    """Run ``manage.py *args*`` (*program* "manage") or ``flask *args*`` ("flask") in-process.

    *root* is the project's folder and *env* the whole environment the command sees; stdin
    holds *input*. *typed*, when given, are instead the lines a user types at a terminal:
    stdin is then a terminal, and stdout and stderr share one screen, as on a terminal (the
    result's ``stdout``, with what was typed echoed; ``stderr`` is then empty).
    """
    argv = ["manage.py", *args] if program == "manage" else ["flask", *args]
    streams = _Streams(typed, input)
    app = None
    with _as_a_process(Path(root), env, argv, streams) as fresh:
        try:
            app = _app(fresh)
            with _migrations_of(app, Path(root)):
                _main(program, app)
            code = 0
        except SystemExit as exc:
            code = _exit_code(exc, streams.err)
        finally:
            _dispose(app)
    stderr = "" if typed is not None else streams.err.getvalue()
    return Result(argv, code, streams.out.getvalue(), stderr)


@contextlib.contextmanager
def wsgi_app(root, env):
    """The app a WSGI server imports from the project at *root* with *env*, and its log.

    Yields (app, stderr): the app serves through its test client, and what it logs (to
    stderr, as under a WSGI server) collects in stderr (``stderr.getvalue()``).
    """
    streams = _Streams(None, "")
    with _as_a_process(Path(root), env, ["gunicorn"], streams) as fresh:
        app = _app(fresh)
        try:
            with _migrations_of(app, Path(root)):
                yield app, streams.err
        finally:
            _dispose(app)


def _main(program, app):
    """What ``python manage.py`` or ``flask`` does with sys.argv once the app exists."""
    if program == "flask":
        flask_cli.main(args=sys.argv[1:], prog_name="flask",
                       obj=ScriptInfo(create_app=lambda: app, set_debug_flag=False))
        return
    import manage
    from cli.errors import one_line_errors

    manager = manage.manager
    saved_app = manager.app
    manager.app = app
    try:
        with one_line_errors():  # manage.py's __main__ block
            manager.run()
    finally:
        manager.app = saved_app


def _app(fresh):
    """The app ``import app`` makes from the environment (freshly imported, or built anew)."""
    import app as app_module

    if fresh:
        return app_module.app  # made at import, as in a process
    from setting import ConfigError

    try:
        return app_module.create_app()
    except ConfigError as exc:  # what app.py does when a process imports it
        raise SystemExit(f"Error: {exc}") from None


def _exit_code(exc, stderr):
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    # sys.exit("message") prints the message to stderr and exits 1.
    print(code, file=stderr)
    return 1


def _dispose(app):
    """Close the command's database connections, as the end of its process would."""
    sqlalchemy = app.extensions.get("sqlalchemy") if app is not None else None
    if sqlalchemy is not None:
        with app.app_context():
            for engine in sqlalchemy.engines.values():
                engine.dispose()


# -- what makes the block look like a new process ---------------------------------------------

@contextlib.contextmanager
def _as_a_process(root, env, argv, streams):
    """Environment, streams, logging, argv, folder and (when edited) modules of a new process.

    Yields True when the project's modules were imported afresh from *root*.
    """
    fresh = sources_differ(root)
    saved = sys.argv, os.getcwd(), sys.dont_write_bytecode
    with contextlib.ExitStack() as stack:
        stack.enter_context(_environment(env))
        stack.enter_context(logging_as_found(fresh_root=True))
        stack.enter_context(streams.installed())
        if fresh:
            stack.enter_context(_fresh_modules(root))
        sys.argv = argv
        # A revision rewritten within a second must not be read back from stale bytecode.
        sys.dont_write_bytecode = True
        os.chdir(root)
        try:
            yield fresh
        finally:
            sys.argv, cwd, sys.dont_write_bytecode = saved
            os.chdir(cwd)


@contextlib.contextmanager
def _environment(env):
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


@contextlib.contextmanager
def logging_as_found(fresh_root=False):
    """Put loggers back as they were after the block: Alembic's env.py reconfigures logging.

    With *fresh_root*, the block starts with a root logger as a new process has it: no
    handler (so Python's last-resort handler prints warnings to stderr), level WARNING.
    """
    def loggers():
        return [logging.getLogger()] + [
            lg for lg in logging.Logger.manager.loggerDict.values()
            if isinstance(lg, logging.Logger)]

    saved = {lg: (list(lg.handlers), lg.level, lg.disabled, lg.propagate) for lg in loggers()}
    if fresh_root:
        logging.getLogger().handlers[:] = []
        logging.getLogger().setLevel(logging.WARNING)
    try:
        yield
    finally:
        for lg in loggers():
            handlers, level, disabled, propagate = saved.get(
                lg, ([], logging.NOTSET, False, True))
            lg.handlers[:] = handlers
            lg.setLevel(level)
            lg.disabled = disabled
            lg.propagate = propagate


class Output(io.TextIOWrapper):
    """A captured stdout or stderr, UTF-8 like a process's (Alembic encodes to its encoding)."""

    def __init__(self, terminal=False):
        super().__init__(io.BytesIO(), encoding="utf-8", write_through=True)
        self._terminal = terminal

    def isatty(self):
        return self._terminal

    def getvalue(self):
        self.flush()
        return self.buffer.getvalue().decode("utf-8")


class Keyboard(io.StringIO):
    """Standard input from a terminal where the user types *lines*, echoed on *screen*."""

    def __init__(self, lines, screen):
        super().__init__("".join(f"{line}\n" for line in lines))
        self._screen = screen

    def isatty(self):
        return True

    def readline(self, size=-1):
        line = super().readline(size)
        self._screen.write(line)
        return line


class _Streams:
    """stdin, stdout and stderr of a command; on a terminal (*typed*) one screen for both."""

    def __init__(self, typed, input):
        if typed is None:
            self.stdin, self.out, self.err = io.StringIO(input), Output(), Output()
        else:
            self.out = self.err = Output(terminal=True)
            self.stdin = Keyboard(typed, self.out)

    @contextlib.contextmanager
    def installed(self):
        saved = sys.stdin, sys.stdout, sys.stderr
        sys.stdin, sys.stdout, sys.stderr = self.stdin, self.out, self.err
        try:
            yield
        finally:
            sys.stdin, sys.stdout, sys.stderr = saved


class _StdoutOfTheMoment:
    """``sys.stdout`` as it is when written to."""

    def __getattr__(self, name):
        return getattr(sys.stdout, name)


def _alembic_prints_to_the_stdout_of_the_moment():
    # alembic.config.Config binds sys.stdout as a default argument when Alembic is imported,
    # and Flask-Migrate never passes its own. In a process that is the process's stdout;
    # here each command's output must reach that command's stdout.
    init = alembic.config.Config.__init__
    positional = [p.name for p in inspect.signature(init).parameters.values()
                  if p.kind is p.POSITIONAL_OR_KEYWORD]
    defaults = list(init.__defaults__ or ())
    try:
        index = positional[len(positional) - len(defaults):].index("stdout")
    except ValueError:
        raise RuntimeError("alembic.config.Config() has no stdout argument any more: "
                           "tests/cli.py must follow Alembic") from None
    defaults[index] = _StdoutOfTheMoment()
    init.__defaults__ = tuple(defaults)


_alembic_prints_to_the_stdout_of_the_moment()


# -- the project's own modules ----------------------------------------------------------------

def code_paths(root):
    """The top-level modules and packages of the project at *root* (its tests aside)."""
    return sorted(path for path in Path(root).iterdir()
                  if (path.suffix == ".py" and path.is_file())
                  or (path.is_dir() and (path / "__init__.py").exists() and path.name != "tests"))


def _sources(root):
    # Alembic reads migrations/ anew on every command anyway.
    found = {}
    for path in code_paths(root):
        for file in (sorted(path.rglob("*.py")) if path.is_dir() else [path]):
            found[file.relative_to(root)] = file.read_bytes()
    return found


def sources_differ(root):
    """True when the Python code of the project at *root* differs from this checkout's."""
    return Path(root).resolve() != ROOT and _sources(Path(root)) != _sources(ROOT)


def _project_modules():
    """Names of the loaded modules that come from this checkout's own code (tests aside)."""
    mine = f"{ROOT}{os.sep}"
    others = (f"{ROOT / 'tests'}{os.sep}", f"{ROOT / '.venv'}{os.sep}")
    return [name for name, module in list(sys.modules.items())
            if (path := getattr(module, "__file__", None))
            and path.startswith(mine) and not path.startswith(others)]


@contextlib.contextmanager
def _fresh_modules(root):
    """Import the project's modules from *root* in the block, then put this checkout's back."""
    ours = {name: sys.modules.pop(name) for name in _project_modules()}
    # manage.py adds its db commands to Flask-Migrate's own MigrateCommand at import.
    commands = dict(flask_migrate.MigrateCommand._commands)
    sys.path.insert(0, str(root))
    try:
        yield
    finally:
        sys.path.remove(str(root))
        exts = sys.modules.get("exts")
        if exts is not None and exts is not ours.get("exts"):
            # The fresh exts registered a listener on every Table; it must not outlive it.
            listener = getattr(exts, "_mysql_table_options", None)
            if listener is not None and event.contains(Table, "after_parent_attach", listener):
                event.remove(Table, "after_parent_attach", listener)
        for name in _project_modules():
            del sys.modules[name]
        sys.modules.update(ours)
        flask_migrate.MigrateCommand._commands.clear()
        flask_migrate.MigrateCommand._commands.update(commands)


@contextlib.contextmanager
def _migrations_of(app, root):
    """Point Flask-Migrate at *root*'s migrations, as the app of a process started there is."""
    config = app.extensions["migrate"]
    # Flask-Migrate 2.7 reads the folder from its (module-level) Migrate object in most
    # commands, and from the app's config object in others: both must say it.
    saved = config.migrate.directory, config.directory
    config.migrate.directory = config.directory = str(root / "migrations")
    try:
        yield
    finally:
        config.migrate.directory, config.directory = saved
