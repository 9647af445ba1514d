"""Turn the failures a user can fix into one line on stderr and exit status 1."""
import contextlib
import sys

from sqlalchemy.exc import SQLAlchemyError

from migration_safety.errors import describe
from setting import ConfigError

__all__ = ["describe", "one_line_errors"]


@contextlib.contextmanager
def one_line_errors():
    """Report database and configuration errors as ``Error: ...`` and exit 1."""
    try:
        yield
    except (SQLAlchemyError, ConfigError) as exc:
        print(f"Error: {describe(exc)}", file=sys.stderr)
        sys.exit(1)
