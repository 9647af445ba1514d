"""manage.py's db commands that check the data or the schema: migrate, upgrade, downgrade, check,
kept, adopt, stamp, current."""
import datetime
import sys

from alembic import command
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from flask import current_app
from flask_script import Command, Option

from exts import db
from migration_safety import history
from migration_safety.errors import SafetyError
from migration_safety.lock import migration_lock
from migration_safety.logs import quiet
from migration_safety.options import (
    ALLOW_DATA_LOSS, ALLOW_TABLE_COPY, FILL, MANAGE_PY, NO_INPUT, RENAME, Options,
)

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
    help="Let drops of columns/tables that hold data, narrowing of string columns (longer "
         "values are cut) and type changes that do not keep every value go ahead, after "
         "listing what is destroyed; it is kept in the database first, and the reverse run "
         "(db downgrade) puts it back. NULLs under a new NOT NULL and duplicates under a new "
         "unique index (and rows a new foreign key or CHECK rejects) must still be fixed "
         "first.",
)
ALLOW_COPY = Option(
    "--allow-table-copy", dest="allow_table_copy", action="store_true", default=False,
    help="MySQL/MariaDB: let a change that copies a table with more rows than "
         "MIGRATION_TABLE_COPY_ROWS go ahead (every write to the table waits until it ends).",
)


def _config(directory, x_arg, opts=None):
    config = current_app.extensions["migrate"].migrate.get_config(
        directory, x_arg=x_arg or None, opts=opts)
    # Messages then name manage.py's options (--allow-data-loss) rather than -x forms.
    config.attributes[MANAGE_PY] = True
    return config


def _x_args(x_arg, allow_data_loss=False, allow_table_copy=False):
    x_arg = list(x_arg or [])
    if allow_data_loss:
        x_arg.append(ALLOW_DATA_LOSS)
    if allow_table_copy:
        x_arg.append(ALLOW_TABLE_COPY)
    return x_arg


def run_reporting_errors(fn, *args, **kwargs):
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
        if not sql:
            _refuse_unknown_history(config)  # not alembic's "Target database is not up to date"
        run_reporting_errors(command.revision, config, message, autogenerate=True, sql=sql,
                             head=head, splice=splice, branch_label=branch_label,
                             version_path=version_path, rev_id=rev_id)


class SafeUpgrade(Command):
    """Upgrade to a later version; refuses to lose data unless --allow-data-loss."""

    option_list = (
        DIRECTORY, SQL, TAG, X_ARG, ALLOW, ALLOW_COPY,
        Option("revision", nargs="?", default="head", help="revision identifier"),
    )

    def run(self, directory, sql, tag, x_arg, allow_data_loss, allow_table_copy, revision):
        config = _config(directory, _x_args(x_arg, allow_data_loss, allow_table_copy))
        run_reporting_errors(command.upgrade, config, revision, sql=sql, tag=tag)


class SafeDowngrade(Command):
    """Revert to a previous version; refuses to lose data unless --allow-data-loss."""

    option_list = (
        DIRECTORY, SQL, TAG, X_ARG, ALLOW, ALLOW_COPY,
        Option("revision", nargs="?", default="-1", help="revision identifier"),
    )

    def run(self, directory, sql, tag, x_arg, allow_data_loss, allow_table_copy, revision):
        if sql and revision == "-1":
            revision = "head:-1"
        config = _config(directory, _x_args(x_arg, allow_data_loss, allow_table_copy))
        run_reporting_errors(command.downgrade, config, revision, sql=sql, tag=tag)


class Check(Command):
    """Exit 0 when the models match the migrations at head; else list the differences, exit 1."""

    option_list = (DIRECTORY,)

    def run(self, directory):
        # Imported here, as adopt below: schema comparison is what these commands alone use
        # of migration safety, and every start of manage.py would pay for importing it.
        from migration_safety import check as schema_check

        config = _config(directory, None)
        # command.check's own "No new upgrade operations detected." would repeat ours.
        config.cmd_opts.quiet = True
        with db.engine.connect() as connection:
            lines, heads = run_reporting_errors(schema_check.differences, config, connection,
                                                db.metadata)
        if not lines:
            print(f"Models match the migrations at head ({', '.join(heads)}).")
            return
        print("Models differ from the migrations at head: these changes have no migration yet:")
        for line in lines:
            print(f"  - {line}")
        print('Write one with: python manage.py db migrate -m "describe the change"')
        sys.exit(1)


class Kept(Command):
    """Lists what accepted data losses kept (--purge removes it; db downgrade restores it)."""

    option_list = (
        Option("--purge", dest="purge", action="store_true", default=False,
               help="remove the kept data (it can then no longer be restored)"),
        Option("--older-than", dest="older_than", type=int, default=None, metavar="DAYS",
               help="with --purge: only what was kept more than DAYS days ago"),
    )

    def run(self, purge, older_than):
        if older_than is not None and (older_than < 0 or not purge):
            _fail("--older-than takes a number of days (0 or more) and goes with --purge")
        if purge:
            run_reporting_errors(self._purge, older_than)
            return
        with db.engine.begin() as connection:
            keeper = _keeper(connection)
            entries = keeper.entries()
            if not entries:
                print("Nothing is kept: no accepted data loss is waiting to be restored.")
                return
            now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            print("Kept by --allow-data-loss (db downgrade/upgrade of the revision puts it "
                  "back; 'db kept --purge' removes it):")
            for entry in entries:
                size = keeper.size(entry)
                shown = "size unknown" if size is None else _size(size)
                print(f"  - {entry.name}: {entry.what()}, {entry.rows} row(s), {shown}, kept "
                      f"{_age(now - entry.created_at)} ago by the {entry.direction} of "
                      f"revision {entry.revision}")


    @staticmethod
    def _purge(older_than):
        cutoff = None if older_than is None else (
            datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
            - datetime.timedelta(days=older_than))
        with db.engine.connect() as connection:
            # Not while a migration runs: a downgrade may be restoring from these very keeps.
            with migration_lock(connection, current_app.config["MIGRATION_LOCK_TIMEOUT"]):
                removed = _keeper(connection).purge(cutoff)
                if connection.in_transaction():
                    connection.commit()
        print(f"Purged {len(removed)} keep(s)"
              + "".join(f"\n  - {e.name}: {e.what()}, {e.rows} row(s)" for e in removed))


def _keeper(connection):
    # Imported at use: the keeps, and the units behind them, are db kept's alone of these
    # commands, and every start of manage.py (--help included) would import them.
    from migration_safety.keep import Keeper
    return Keeper(connection)


def _refuse_unknown_history(config):
    """Exit with db adopt's line when the database's history is unknown."""
    with db.engine.connect() as connection:
        current, state = _history(connection, ScriptDirectory.from_config(config))
    if state is not None:
        _fail(history.message(state, current))


def _history(connection, script):
    """(what alembic_version says, history.situation of the database): whether *script*'s
    history knows the database, for the models' tables."""
    current = history.current_heads(connection)
    return current, history.situation(connection, script, current, db.metadata)


def _fail(message):
    print(f"Error: {message}", file=sys.stderr)
    sys.exit(1)


def _size(size):
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.0f} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024


def _age(delta):
    seconds = int(delta.total_seconds())
    if seconds < 3600:
        return f"{seconds // 60} min"
    if seconds < 86400:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


class Adopt(Command):
    """Find the revision a database made without migrations (db.create_all()) matches; stamp it."""

    option_list = (
        DIRECTORY,
        Option("--dry-run", dest="dry_run", action="store_true", default=False,
               help="only report the revision the database matches (or how it differs); "
                    "stamp nothing"),
    )

    def run(self, directory, dry_run):
        from migration_safety import adopt
        from migration_safety.schemadiff import lines as difference_lines

        config = _config(directory, None)
        script = ScriptDirectory.from_config(config)
        with db.engine.connect() as connection:
            current, state = _history(connection, script)
            if state is None:
                if current:
                    print(f"The database is already at revision {', '.join(current)}: nothing "
                          "to adopt ('python manage.py db upgrade' takes it from here).")
                else:
                    print("The database has none of the app's tables: nothing to adopt "
                          "('python manage.py db upgrade' creates them).")
                return
            finding = run_reporting_errors(adopt.find, config, connection)
        if finding.revision is None:
            closest = script.get_revision(finding.closest)
            print(f"The database matches no revision of the migration history. Closest: "
                  f"revision {closest.revision} ({closest.doc}), with "
                  f"{len(finding.differences)} difference(s):")
            for line in difference_lines(finding.differences):
                print(line)
            print("Fix these, then run db adopt again. (Or record the closest revision anyway, "
                  f"'python manage.py db stamp --force {closest.revision}', and let a migration "
                  "settle the differences you keep: db migrate lists them.)")
            _fail("the database matches no revision; nothing was changed")
        found = script.get_revision(finding.revision)
        later = len(list(script.iterate_revisions("heads", found.revision)))
        after = (f"'python manage.py db upgrade' applies the {later} later revision(s)."
                 if later else "It is the head: the database is up to date.")
        alike = ""
        if finding.alike:
            alike = (f"\nNote: the older revision(s) {', '.join(finding.alike)} have the same "
                     "schema (the revisions after them change only data, or what adopt does "
                     "not compare): if those changes were never made to this database, stamp "
                     "the revision it is at instead ('python manage.py db stamp REVISION').")
        if dry_run:
            print(f"The database matches revision {found.revision} ({found.doc}) exactly. "
                  f"--dry-run: nothing was stamped.{alike}")
            return
        # purge: an unknown revision in alembic_version is replaced, not added to.
        with quiet("alembic.runtime.migration"):  # the line below says it
            run_reporting_errors(command.stamp, config, found.revision, purge=True)
        print(f"The database matches revision {found.revision} ({found.doc}) exactly: stamped "
              f"it. {after}{alike}")


class SafeStamp(Command):
    """Record a revision without running it; refuses one whose schema is not the database's."""

    option_list = (
        DIRECTORY, SQL, TAG,
        Option("--force", dest="force", action="store_true", default=False,
               help="stamp even though the database's schema differs from the revision's "
                    "(the next migrations may then fail or drop what they should not)"),
        Option("revision", nargs="?", default="head", help="revision identifier"),
    )

    def run(self, directory, sql, tag, force, revision):
        from migration_safety import adopt
        from migration_safety.schemadiff import lines as difference_lines

        config = _config(directory, None)
        script = ScriptDirectory.from_config(config)
        purge = False
        if not sql:
            with db.engine.connect() as connection:
                # A revision these scripts do not have is replaced (alembic could not stamp
                # from it); the schema check below still decides.
                purge = history.unknown_revisions(
                    script, history.current_heads(connection)) != []
        if not (sql or force):
            targets = [r for r in run_reporting_errors(script.get_revisions, revision)
                       if r is not None]
            if len(targets) > 1:
                _fail(f"'{revision}' is {len(targets)} revisions: db stamp checks one at a "
                      "time (stamp each, or use --force)")
            if targets:
                target = targets[0].revision
                with db.engine.connect() as connection:
                    differences = run_reporting_errors(adopt.differences_from, config,
                                                       connection, target)
                if differences:
                    print(f"The database does not match the schema of revision {target}, with "
                          f"{len(differences)} difference(s):")
                    for line in difference_lines(differences):
                        print(line)
                    _fail(f"refusing to stamp {target}: its schema is not the database's "
                          "('python manage.py db adopt' finds the revision it matches; "
                          "--force stamps anyway)")
        run_reporting_errors(command.stamp, config, revision, sql=sql, tag=tag, purge=purge)


class Current(Command):
    """Display the current revision for each database (or why there is none to show)."""

    option_list = (
        DIRECTORY,
        Option("-v", "--verbose", dest="verbose", action="store_true", default=False,
               help="Use more verbose output"),
    )

    def run(self, directory, verbose):
        config = _config(directory, None)
        with db.engine.connect() as connection:
            current, state = _history(connection, ScriptDirectory.from_config(config))
        if state is not None:
            print(history.message(state, current))
            return
        run_reporting_errors(command.current, config, verbose=verbose)


def add_safety_commands(migrate_manager):
    """Put the commands above in place of Flask-Migrate's migrate, upgrade, downgrade, stamp and
    current, and add check, kept and adopt."""
    migrate_manager.add_command("migrate", SafeMigrate())
    migrate_manager.add_command("upgrade", SafeUpgrade())
    migrate_manager.add_command("downgrade", SafeDowngrade())
    migrate_manager.add_command("stamp", SafeStamp())
    migrate_manager.add_command("current", Current())
    migrate_manager.add_command("check", Check())
    migrate_manager.add_command("kept", Kept())
    migrate_manager.add_command("adopt", Adopt())
