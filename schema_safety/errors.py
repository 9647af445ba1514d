"""The error every schema_safety refusal raises."""
from alembic.util import CommandError


class SafetyError(CommandError):
    """A refusal with a message for the user; nothing was changed or written.

    A CommandError, so that Flask-Migrate's own commands (``flask db ...``) report it as
    ``Error: ...`` with exit status 1 instead of a traceback.
    """
