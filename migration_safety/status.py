"""Whether the database is at the migrations' head: for /healthz and the pending warning."""
import logging
import threading

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from migration_safety import history
from migration_safety.errors import describe

log = logging.getLogger(__name__)

UPGRADE = "python manage.py db upgrade"


class Status:
    """What the database's alembic_version says, compared with the migration scripts."""

    def __init__(self, state, current=(), heads=(), pending=0, error=None):
        # at-head, behind, unavailable, or history.NO_HISTORY / UNKNOWN_REVISION (db adopt)
        self.state = state
        self.current = tuple(sorted(current))
        self.heads = tuple(sorted(heads))
        self.pending = pending
        self.error = error

    @property
    def ok(self):
        return self.state == "at-head"

    def as_dict(self):
        body = {"status": self.state, "revision": ",".join(self.current) or None}
        if not self.ok:
            body["head"] = ",".join(self.heads) or None
        if self.state == "behind":
            body["pending"] = self.pending
        return body

    def message(self):
        """One line for the log, saying what to do; None when at head."""
        if self.state == "at-head":
            return None
        if self.state == "unavailable":
            return f"Could not read the database's migration revision: {self.error}"
        if self.state in (history.NO_HISTORY, history.UNKNOWN_REVISION):
            return history.message(self.state, self.current)
        current = ", ".join(self.current)
        plural = "s are" if self.pending != 1 else " is"
        where = f"at revision {current}" if current else "not migrated at all (no revision)"
        return (f"The database is behind the code: it is {where} and {self.pending} "
                f"migration{plural} pending (head {', '.join(self.heads)}); pages that need the "
                f"new schema will fail until you run '{UPGRADE}'")


def script_heads(app):
    """The migration scripts do not change while the app runs: read them once."""
    cache = app.extensions.setdefault("migration_safety", {})
    found = cache.get("script_heads")
    if found is None:
        # Stored in one step: a request on another thread (gunicorn --threads) sees both or
        # neither (two steps once gave it a script without its heads: a 500 on /healthz).
        script = ScriptDirectory(app.extensions["migrate"].directory)
        found = cache["script_heads"] = (script, tuple(script.get_heads()))
    return found


def database_status(app):
    """The database's migration status; never raises for an unreachable database."""
    from exts import db

    script, heads = script_heads(app)
    try:
        with app.app_context(), db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_heads()
            # Only a database without a known revision costs more than that one query.
            state = None if set(current) == set(heads) else history.situation(
                connection, script, current, db.metadata)
    except Exception as exc:  # any failure to answer is "unavailable", for a load balancer
        return Status("unavailable", heads=heads, error=describe(exc))
    if set(current) == set(heads):
        return Status("at-head", current, heads)
    if state is not None:
        return Status(state, current, heads)
    try:
        pending = len(list(script.iterate_revisions(heads, current or "base")))
    except (CommandError, RevisionError):
        return Status(history.UNKNOWN_REVISION, current, heads)
    return Status("behind", current, heads, pending)


def warn_if_behind(app):
    """Log a warning when the database is not at the head revision; return the status."""
    status = database_status(app)
    if not status.ok:
        app.logger.warning("%s", status.message())
    return status


def install(app):
    """Check once per process, at the first request (any WSGI server, or runserver)."""
    state = app.extensions.setdefault("migration_safety", {})
    state.setdefault("checked", False)
    guard = threading.Lock()

    @app.before_request
    def check_pending_migrations_once():
        if state["checked"]:
            return
        with guard:
            if not state["checked"]:
                state["checked"] = True
                warn_if_behind(app)


def check_now(app):
    """Check at startup, where a server knows it starts; the first request then skips it."""
    app.extensions.setdefault("migration_safety", {})["checked"] = True
    return warn_if_behind(app)
