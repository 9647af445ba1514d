"""Whether a database's migration history is one this code knows; if not, db adopt's line."""
from alembic.runtime.migration import MigrationContext
from alembic.script.revision import RevisionError
from alembic.util import CommandError
from sqlalchemy import inspect

from migration_safety.errors import SafetyError
from migration_safety.logs import quiet
from migration_safety.names import PROGRESS_TABLE
from migration_safety.schema import app_tables

ADOPT = "python manage.py db adopt"
NO_HISTORY = "no-history"
UNKNOWN_REVISION = "unknown-revision"


def current_heads(connection):
    """What alembic_version says, without alembic's "Context impl" lines."""
    with quiet("alembic.runtime.migration"):
        return MigrationContext.configure(connection).get_current_heads()


def unknown_revisions(script, current):
    """The revisions of *current* that *script*'s history does not have."""
    unknown = []
    for revision in current:
        try:
            if script.get_revision(revision) is None:
                unknown.append(revision)
        except (CommandError, RevisionError):
            unknown.append(revision)
    return unknown


def situation(connection, script, current=None, models=None):
    """NO_HISTORY (the app's tables are there but no revision is recorded: db.create_all(),
    or a lost alembic_version), UNKNOWN_REVISION (alembic_version names a revision these
    scripts do not have), or None when db upgrade can take it from here.

    The app's tables are those of the MetaData *models* (tables of another app sharing the
    database do not count), or every table when it is not given.
    """
    if current is None:
        current = current_heads(connection)
    if current:
        return UNKNOWN_REVISION if unknown_revisions(script, current) else None
    if inspect(connection).has_table(PROGRESS_TABLE):
        # The first revision failed half-way on MySQL: db upgrade resumes it (units.py).
        return None
    tables = app_tables(connection)
    if models is not None:
        tables = [name for name in tables if name in models.tables]
    return NO_HISTORY if tables else None


def message(state, current=()):
    """One line saying what the database is and to run db adopt."""
    if state == NO_HISTORY:
        return ("The database has the app's tables but no migration history (no revision in "
                "alembic_version, as db.create_all() leaves it): run "
                f"'{ADOPT}' to find the revision it matches and record it")
    return (f"The database is at revision {', '.join(current)}, which this code's migrations "
            "do not have: if a newer release migrated it, deploy that release (or downgrade "
            f"with it); if its migration history was lost, run '{ADOPT}'")


def refuse_unknown_history(migration_context):
    """Raise SafetyError, before anything is written, when db upgrade or downgrade would run
    on a database whose history is unknown. Stamps pass: they are how a history is recorded
    (db stamp checks the schema itself, db adopt finds the revision)."""
    # command.stamp is the one command that configures ``purge``.
    if "purge" in migration_context.opts or migration_context.script is None:
        return
    current = migration_context.get_current_heads()
    state = situation(migration_context.connection, migration_context.script, current,
                      migration_context.opts.get("target_metadata"))
    if state is not None:
        raise SafetyError(f"{message(state, current)}. Nothing was changed.")
