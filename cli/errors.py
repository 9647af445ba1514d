"""Turn the failures a user can fix into one line on stderr and exit status 1."""
import contextlib
import sys

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from setting import ConfigError


def describe(exc):
    """A one-line description of *exc* without driver noise or connection URLs."""
    if isinstance(exc, DBAPIError) and exc.orig is not None:
        # The driver's own message ("Can't connect to MySQL server on ...", "unable to open
        # database file"), without SQLAlchemy's statement dump and background link.
        message = str(exc.orig)
    else:
        message = str(exc)
    return " ".join(message.split()) or type(exc).__name__


@contextlib.contextmanager
def one_line_errors():
    """Report database and configuration errors as ``Error: ...`` and exit 1."""
    try:
        yield
    except (SQLAlchemyError, ConfigError) as exc:
        print(f"Error: {describe(exc)}", file=sys.stderr)
        sys.exit(1)
