"""A scratch copy of the project, whose commands a test runs in-process or as real processes."""
import contextlib
import shutil
import subprocess
import sys
import textwrap

from alembic.script import ScriptDirectory

from tests import cli
from tests.cli import ROOT
from tests.processes import Background

# What a user's checkout holds that the app needs at run time, besides its Python modules and
# packages. Templates and static files are only read, so they are linked rather than copied.
COPIED = ["migrations", "deploy"]
LINKED = ["templates", "static"]


class CommandFailed(AssertionError):
    pass


def _checked(result, check):
    if check and result.returncode != 0:
        raise CommandFailed(f"{' '.join(result.args)} exited {result.returncode}\n"
                            f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}")
    return result


class Project:
    """A copy of the project in *root* on *database*, as a user's checkout with DATABASE_URL set.

    ``manage()`` and ``flask()`` run a command in this process (tests/cli.py); ``process()``
    and ``background()`` start a real Python process, for tests of the process itself.
    """

    def __init__(self, root, database):
        self.root = root
        self.database = database

    @classmethod
    def copy(cls, root, database):
        root.mkdir()
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
        for source in cli.code_paths(ROOT) + [ROOT / item for item in COPIED]:
            if source.is_dir():
                shutil.copytree(source, root / source.name, ignore=ignore)
            else:
                shutil.copy2(source, root / source.name)
        for item in LINKED:
            (root / item).symlink_to(ROOT / item)
        return cls(root, database)

    @property
    def database_url(self):
        return self.database.url

    def env(self, **extra):
        """The environment a command sees: development settings on the test's database."""
        settings = dict(FLASK_CONFIG="development", DATABASE_URL=self.database_url)
        return cli.process_environ(**{**settings, **extra})

    # -- commands ----------------------------------------------------------------------------

    def manage(self, *args, check=True, env=None, typed=None, input=""):
        """``python manage.py *args*``, in-process (tests/cli.py says what *typed* is)."""
        return _checked(cli.run("manage", self.root, args, self.env(**(env or {})), typed,
                                input), check)

    def flask(self, *args, check=True, env=None, typed=None, input=""):
        """``flask --app app *args*``, in-process."""
        return _checked(cli.run("flask", self.root, args, self.env(**(env or {})), typed,
                                input), check)

    def process(self, *args, check=True, input=None, env=None, timeout=120):
        """``python *args*`` as a real process in the project's folder."""
        result = subprocess.run(
            [sys.executable, *args], cwd=self.root, env=self.env(**(env or {})), input=input,
            capture_output=True, text=True, timeout=timeout,
        )
        return _checked(result, check)

    def background(self, *args, env=None):
        """``python *args*`` started in the project's folder (tests/processes.py)."""
        return Background([sys.executable, *args], cwd=self.root, env=self.env(**(env or {})))

    @contextlib.contextmanager
    def wsgi_app(self):
        """The app a WSGI server would import from this copy: (app, its log as a StringIO)."""
        with cli.wsgi_app(self.root, self.env()) as found:
            yield found

    # -- the migration history ---------------------------------------------------------------

    def versions(self):
        return sorted(p.name for p in (self.root / "migrations" / "versions").glob("*.py"))

    def new_scripts(self, before):
        """Text of the revision files written since *before* (a ``versions()`` list)."""
        versions = self.root / "migrations" / "versions"
        return [(versions / name).read_text() for name in sorted(set(self.versions()) - set(before))]

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

    def edit(self, relative, old, new):
        """Replace the one occurrence of *old* in the file *relative* with *new*."""
        path = self.root / relative
        source = path.read_text()
        assert source.count(old) == 1, f"{relative} has {source.count(old)} of {old!r}"
        path.write_text(source.replace(old, new))

    def edit_models(self, old, new):
        self.edit("models.py", old, new)
