"""The app for Celery's own command line: ``celery -A mailqueue worker`` (or inspect, ...)."""
import sys

# Not imported as "app": Celery would take a module attribute of that name for its app.
from app import app as flask_app

queue = flask_app.extensions["mail_queue"]
if queue is None:
    # Without this, Celery would quietly fall back to a default app on a local broker.
    sys.exit("Error: CELERY_BROKER_URL is not set, so the web process sends mail itself "
             "and there is no queue to work on")
celery = queue.celery
