"""runserver that warns at startup when the database is behind the migrations."""
import os

from flask_script import Server

from migration_safety.status import check_now


class CheckedServer(Server):
    """Runs the development server."""

    def __call__(self, app, host, port, use_debugger, use_reloader, *args, **kwargs):
        debugger = app.debug if use_debugger is None else use_debugger
        reloader = debugger if use_reloader is None else use_reloader
        # With the reloader the server runs in a child process: check there, once.
        if not reloader or os.environ.get("WERKZEUG_RUN_MAIN") == "true":
            check_now(app)
        super().__call__(app, host, port, use_debugger, use_reloader, *args, **kwargs)
