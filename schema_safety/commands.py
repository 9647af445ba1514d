"""manage.py's db migrate, upgrade, downgrade and check, with the schema_safety options."""
import sys

from alembic import command
from alembic.util import CommandError
from flask import current_app
from flask_script import Command, Option

from schema_safety import check as schema_check
from schema_safety.errors import SafetyError
from schema_safety.options import ALLOW_DATA_LOSS, FILL, NO_INPUT, RENAME, Options

DIRECTORY = Option("-d", "--directory", dest="directory", default=None,
                   help="Migration script directory (default is 'migrations')")
X_ARG = Option("-x", "--x-arg", dest="x_arg", default=None, action="append",
               help="Additional arguments consumed by custom env.py scripts")
SQL = Option("--sql", dest="sql", action="store_true", default=False,
             help="Don't emit SQL to database - dump to standard output instead")
TAG = Option("--tag", dest="tag", default=None,
             help="Arbitrary 'tag' name - can be used by custom env.py scripts")
ALLOW = Option(
    "--allow-data-loss", dest="allow_data_loss", action="store_true", default=False,
    help="Let drops of columns/tables that hold data, and narrowing of string columns "
         "(longer values are cut), go ahead after listing what is destroyed. NULLs under a "
         "new NOT NULL and duplicates under a new unique index must still be fixed first.",
)


def _config(directory, x_arg, opts=None):
    config = current_app.extensions["migrate"].migrate.get_config(
        directory, x_arg=x_arg or None, opts=opts)
    # Messages then name manage.py's options (--allow-data-loss) rather than -x forms.
    config.cmd_opts.schema_safety_manage_py = True
    return config


def _run(fn, *args, **kwargs):
    """Run an alembic command; refusals and alembic errors become ``Error: ...``, exit 1."""
    try:
        return fn(*args, **kwargs)
    except CommandError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        sys.exit(1)


class SafeMigrate(Command):
    """Autogenerate a revision; asks about likely renames and values for new NOT NULL columns."""

    option_list = (
        DIRECTORY,
        Option("-m", "--message", dest="message", default=None, help="Revision message"),
        SQL,
        Option("--head", dest="head", default="head",
               help="Specify head revision or <branchname>@head to base new revision on"),
        Option("--splice", dest="splice", action="store_true", default=False,
               help='Allow a non-head revision as the "head" to splice onto'),
        Option("--branch-label", dest="branch_label", default=None,
               help="Specify a branch label to apply to the new revision"),
        Option("--version-path", dest="version_path", default=None,
               help="Specify specific path from config for version file"),
        Option("--rev-id", dest="rev_id", default=None,
               help="Specify a hardcoded revision id instead of generating one"),
        X_ARG,
        Option("--rename", dest="rename", action="append", default=None,
               metavar="TABLE.OLD:NEW | OLD:NEW",
               help="Write a rename instead of drop + add: a column (question.title:headline) "
                    "or a table (answer:reply). Repeatable. On a terminal db migrate asks "
                    "instead."),
        Option("--fill", dest="fill", action="append", default=None,
               metavar="TABLE.COLUMN=VALUE",
               help="Value for existing rows of a new NOT NULL column without a server "
                    "default (question.views=0; 'now' for a date and time). Repeatable. On a "
                    "terminal db migrate asks instead."),
        Option("--no-input", dest="no_input", action="store_true", default=False,
               help="Ask nothing, even on a terminal (as when run by a script)"),
    )

    def run(self, directory, message, sql, head, splice, branch_label, version_path, rev_id,
            x_arg, rename, fill, no_input):
        # Check the spelling now, before autogenerate runs.
        check = Options()
        try:
            for value in rename or []:
                check.add_rename(value)
            for value in fill or []:
                check.add_fill(value)
        except SafetyError as exc:
            print(f"Error: {exc}", file=sys.stderr)
            sys.exit(1)
        x_arg = list(x_arg or [])
        x_arg += [f"{RENAME}={value}" for value in rename or []]
        x_arg += [f"{FILL}={value}" for value in fill or []]
        if no_input:
            x_arg.append(NO_INPUT)
        config = _config(directory, x_arg, opts=["autogenerate"])
        _run(command.revision, config, message, autogenerate=True, sql=sql, head=head,
             splice=splice, branch_label=branch_label, version_path=version_path,
             rev_id=rev_id)


class SafeUpgrade(Command):
    """Upgrade to a later version; refuses to lose data unless --allow-data-loss."""

    option_list = (
        DIRECTORY, SQL, TAG, X_ARG, ALLOW,
        Option("revision", nargs="?", default="head", help="revision identifier"),
    )

    def run(self, directory, sql, tag, x_arg, allow_data_loss, revision):
        x_arg = list(x_arg or []) + ([ALLOW_DATA_LOSS] if allow_data_loss else [])
        _run(command.upgrade, _config(directory, x_arg), revision, sql=sql, tag=tag)


class SafeDowngrade(Command):
    """Revert to a previous version; refuses to lose data unless --allow-data-loss."""

    option_list = (
        DIRECTORY, SQL, TAG, X_ARG, ALLOW,
        Option("revision", nargs="?", default="-1", help="revision identifier"),
    )

    def run(self, directory, sql, tag, x_arg, allow_data_loss, revision):
        x_arg = list(x_arg or []) + ([ALLOW_DATA_LOSS] if allow_data_loss else [])
        if sql and revision == "-1":
            revision = "head:-1"
        _run(command.downgrade, _config(directory, x_arg), revision, sql=sql, tag=tag)


class Check(Command):
    """Exit 0 when the models match the migrations at head; else list the differences, exit 1."""

    option_list = (DIRECTORY,)

    def run(self, directory):
        lines, heads = _run(schema_check.differences, _config(directory, None))
        if not lines:
            print(f"Models match the migrations at head ({', '.join(heads)}).")
            return
        print("Models differ from the migrations at head: these changes have no migration yet:")
        for line in lines:
            print(f"  - {line}")
        print('Write one with: python manage.py db migrate -m "describe the change"')
        sys.exit(1)


def add_safety_commands(migrate_manager):
    """Put the commands above in place of Flask-Migrate's migrate, upgrade and downgrade."""
    migrate_manager.add_command("migrate", SafeMigrate())
    migrate_manager.add_command("upgrade", SafeUpgrade())
    migrate_manager.add_command("downgrade", SafeDowngrade())
    migrate_manager.add_command("check", Check())
