"""The errors of migration safety, and the one place that turns a failure into one line."""
from alembic.util import CommandError
from sqlalchemy.exc import DBAPIError

# All are CommandErrors, so that Flask-Migrate's own commands (``flask db ...``) report them
# as ``Error: ...`` with exit status 1 instead of a traceback.


class SafetyError(CommandError):
    """A refusal with a message for the user; nothing was changed or written."""


class MigrationFailed(CommandError):
    """A revision failed or cannot run; the message says what happened and how to recover."""


class LockTimeout(CommandError):
    """Another migration held the lock for longer than the configured wait."""


def describe(exc):
    """A one-line description of *exc* without driver noise or connection URLs."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver's own message ("Can't connect to MySQL server on ...", "unable to open
        # database file"), without SQLAlchemy's statement dump and background link.
        message = str(exc.orig)
    else:
        message = str(exc)
    return " ".join(message.split()) or type(exc).__name__
