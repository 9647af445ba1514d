"""Logging of every process (web, CLI, mail worker): plain lines, or JSON lines in production."""
import contextlib
import contextvars
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

from flask import g, request
from pythonjsonlogger.json import JsonFormatter
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The web request a line belongs to; a mail job carries the id of the request that queued it.
current_request_id = contextvars.ContextVar("current_request_id", default=None)
current_task_id = contextvars.ContextVar("current_task_id", default=None)

# An X-Request-ID from the proxy in front is kept when it looks like an id (nginx's
# $request_id, a UUID); anything else could forge or flood log lines, so a new one is made.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

# Alembic's own format (alembic.ini), so that `manage.py db ...` reads as it always has.
PLAIN_FORMAT = "%(levelname)-5.5s [%(name)s] %(message)s"
PLAIN_FORMAT_IN_REQUEST = "%(levelname)-5.5s [%(name)s] [request %(request_id)s] %(message)s"
# Besides timestamp, level, logger, message and request_id: what requests and jobs add.
# Nothing else a library attaches to a record is written (Celery attaches task arguments).
JSON_EXTRA_FIELDS = ("method", "path", "status", "duration_ms", "task_id")
# Secrets shorter than this are not searched for: they would blank out ordinary words.
SECRET_MIN_LENGTH = 6
REDACTED = "[redacted]"

# Libraries that say too much at INFO for a production log.
LIBRARY_LEVELS = {"sqlalchemy.engine": "WARNING", "alembic.runtime.plugins": "WARNING",
                  "amqp": "WARNING", "kombu": "WARNING"}

request_log = logging.getLogger("qa.request")


class PlainFormatter(logging.Formatter):
    """``LEVEL [logger] message``, with ``[request id]`` when the line belongs to one."""

    def __init__(self):
        super().__init__(PLAIN_FORMAT)
        self._in_request = logging.Formatter(PLAIN_FORMAT_IN_REQUEST)

    def format(self, record):
        if getattr(record, "request_id", None):
            return self._in_request.format(record)
        return super().format(record)


class JsonLineFormatter(JsonFormatter):
    """One JSON object per line: timestamp, level, logger, message, request_id and the
    request's or job's own fields, never anything else attached to the record."""

    def add_fields(self, log_data, record, message_dict):
        log_data["timestamp"] = datetime.fromtimestamp(record.created, timezone.utc).isoformat(
            timespec="milliseconds")
        log_data["level"] = record.levelname
        log_data["logger"] = record.name
        log_data["message"] = record.message
        log_data["request_id"] = getattr(record, "request_id", None)
        for name in JSON_EXTRA_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                log_data[name] = value
        for name in ("exc_info", "stack_info"):
            if message_dict.get(name):
                log_data[name] = message_dict[name]


def stamp_records():
    """Make every log record carry the current request and job ids, whichever handler (ours,
    pytest's, a library's) receives it; safe to call again."""
    make_record = logging.getLogRecordFactory()
    if getattr(make_record, "stamps_ids", False):
        return

    def make_stamped_record(*args, **kwargs):
        record = make_record(*args, **kwargs)
        record.request_id = current_request_id.get()
        record.task_id = current_task_id.get()
        return record

    make_stamped_record.stamps_ids = True
    logging.setLogRecordFactory(make_stamped_record)


class RedactSecrets(logging.Filter):
    """Replaces known secrets in each record's message and traceback before it is written."""

    def __init__(self, secrets=()):
        super().__init__()
        found = {str(s) for s in secrets if s and len(str(s)) >= SECRET_MIN_LENGTH}
        # Longest first, so that a secret containing another is hidden whole.
        self.secrets = sorted(found, key=len, reverse=True)

    def filter(self, record):
        if self.secrets:
            self._redact(record)
        return True

    def _redact(self, record):
        message = record.getMessage()
        hidden = self._hide(message)
        if hidden != message:
            record.msg, record.args = hidden, None
        if record.exc_info:
            # Formatted here, so that every formatter writes the redacted text.
            record.exc_text = self._hide(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self._hide(record.exc_text)

    def _hide(self, text):
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text


class StderrHandler(logging.StreamHandler):
    """Writes to ``sys.stderr`` as it is at each line, never to a stream swapped out since."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value):
        pass


def make_handler(log_format="plain", secrets=()):
    """The one handler of every process: stderr, in *log_format*, with secrets hidden."""
    handler = StderrHandler()
    handler.setFormatter(JsonLineFormatter() if log_format == "json" else PlainFormatter())
    handler.addFilter(RedactSecrets(secrets))
    return handler


def configure(log_format="plain", level="INFO", secrets=()):
    """Route every record of this process through one stderr handler; safe to call again."""
    stamp_records()
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, StderrHandler)]:
        root.removeHandler(handler)
    root.addHandler(make_handler(log_format, secrets))
    root.setLevel(level)
    for name, library_level in LIBRARY_LEVELS.items():
        logging.getLogger(name).setLevel(library_level)
    # Python's warnings become log lines too, not bare text between the JSON objects.
    logging.captureWarnings(True)


def gunicorn_dict_config(log_format="plain", level="INFO", secrets=()):
    """gunicorn's ``logconfig_dict``: its own loggers go through the same handler."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            **{name: {"level": lib_level} for name, lib_level in LIBRARY_LEVELS.items()},
            # Its level stays gunicorn's own (--log-level, GUNICORN_LOGLEVEL).
            "gunicorn.error": {"handlers": [], "propagate": True},
            # Off: the app logs each request itself, with its id (see init_app).
            "gunicorn.access": {"handlers": [], "propagate": False},
        },
        "handlers": {"stderr": {"()": make_handler, "log_format": log_format,
                                "secrets": list(secrets)}},
    }


def secrets_in(config):
    """The values in *config* (app.config or settings) that must never reach a log."""
    secrets = [config.get("SECRET_KEY"), config.get("MAIL_PASSWORD")]
    for name in ("SQLALCHEMY_DATABASE_URI", "CELERY_BROKER_URL"):
        secrets.append(_password(config.get(name)))
    return [s for s in secrets if s]


def _password(url):
    if not url:
        return None
    try:
        return make_url(url).password
    except ArgumentError:
        return None


@contextlib.contextmanager
def job_context(request_id, task_id):
    """Lines logged inside carry *request_id* (the request that queued the job) and *task_id*."""
    request_token = current_request_id.set(request_id)
    task_token = current_task_id.set(task_id)
    try:
        yield
    finally:
        current_task_id.reset(task_token)
        current_request_id.reset(request_token)


def init_app(app):
    """Set up this process's logging from app.config; give each request an id and a log line."""
    stamp_records()
    if app.config["CONFIGURE_LOGGING"]:
        configure(app.config["LOG_FORMAT"], app.config["LOG_LEVEL"], secrets_in(app.config))
    # Registered before any other extension's hook, so that they run first and last.
    app.before_request(_start_request)
    app.after_request(_finish_request)
    app.teardown_request(_end_request)


def request_id_from(incoming):
    """The id of a request whose X-Request-ID header is *incoming* ("" without one)."""
    return incoming if REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex


def log_request(request_id, method, path, status, started):
    """The request's log line: *started* is its time.perf_counter() at the start."""
    if not request_log.isEnabledFor(logging.INFO):
        return
    duration = round((time.perf_counter() - started) * 1000, 1)
    token = current_request_id.set(request_id)
    try:
        # The path only: a query string may carry what a user typed.
        request_log.info("%s %s %s %.1f ms", method, path, status, duration,
                         extra={"method": method, "path": path, "status": status,
                                "duration_ms": duration})
    finally:
        current_request_id.reset(token)


def _start_request():
    incoming = request.headers.get("X-Request-ID", "")
    g.request_id_token = current_request_id.set(request_id_from(incoming))
    g.request_started = time.perf_counter()


def _finish_request(response):
    request_id = current_request_id.get()
    if request_id is None or "request_started" not in g:
        return response
    response.headers["X-Request-ID"] = request_id
    log_request(request_id, request.method, request.path, response.status_code,
                g.request_started)
    return response


def _end_request(exc):
    token = g.pop("request_id_token", None)
    if token is None:
        return
    try:
        current_request_id.reset(token)
    except ValueError:  # torn down in another context than it started in
        current_request_id.set(None)
