"""``python manage.py worker``: a Celery worker that sends the queued registration mail."""
import sys

from flask_script import Command

# Mingle and gossip let workers swap state at start and keep chatting; this queue needs
# neither, and other apps' workers on the same broker would answer them.
DEFAULT_OPTIONS = ["--without-mingle", "--without-gossip"]


class Worker(Command):
    """Send queued mail: a Celery worker, taking the options of `celery worker --help`."""

    capture_all_args = True

    def __call__(self, app=None, *args):
        # Not in a request context, unlike other commands: each job gets its own app context.
        return self.run(app, *args)

    def run(self, app, args):
        queue = app.extensions["mail_queue"]
        if queue is None:
            sys.exit("Error: CELERY_BROKER_URL is not set, so the web process sends mail itself "
                     "and there is no queue to work on")
        # Celery's banner is plain text on stdout: left out when every line must be JSON.
        quiet = ["--quiet"] if app.config["LOG_FORMAT"] == "json" else []
        return queue.celery.worker_main([*quiet, "worker", *DEFAULT_OPTIONS, *args])
