"""What the mail-queue tests use: RabbitMQ queues of their own, a dead broker, worker processes."""
import contextvars
import os
import sys
import threading
import urllib.parse
import uuid

from tests.cli import ROOT
from tests.processes import Background
from tests.sockets import SilentPort

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")
# Where it is, for messages: host and port, not the password.
RABBITMQ_ADDRESS = urllib.parse.urlsplit(RABBITMQ_URL).netloc.rpartition("@")[2]
# The line a Celery worker logs once it consumes.
READY = r"@\S+ ready\."


def rabbitmq_available():
    # kombu imported here: conftest asks this once per run, most test processes need no more.
    from kombu import Connection

    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=0)  # one attempt: no pause to retry
        return True
    except Exception:
        return False


def unique_queue():
    """A queue (and exchange) name no other test run or helper on this broker uses."""
    return f"test-mail-{uuid.uuid4().hex[:12]}"


def queue_depth(name):
    """(jobs ready in *name*, consumers listening); (0, 0) when it does not exist."""
    from kombu import Connection

    with Connection(RABBITMQ_URL) as connection, connection.channel() as channel:
        try:
            _, ready, consumers = channel.queue_declare(name, passive=True)
        except connection.channel_errors:
            return 0, 0
        return ready, consumers


def delete_queue(name):
    """Remove *name* and its exchange from the broker, whatever state they are in."""
    from kombu import Connection

    with Connection(RABBITMQ_URL) as connection:
        for delete in ("queue_delete", "exchange_delete"):
            with connection.channel() as channel:
                try:
                    getattr(channel, delete)(name)
                except connection.channel_errors:
                    pass  # never declared


def dead_broker():
    """A broker address that resets every connection at once; ``accepted`` counts attempts."""
    return SilentPort(drop=True)


def start_worker(name, env, concurrency=1):
    """``python manage.py worker`` (prefork, named *name*@host) with its log (stderr) apart
    from what Celery prints (stdout); it has not necessarily started consuming yet.

    ``stop()`` is a warm shutdown, as ``docker stop`` makes it: SIGTERM to the worker alone,
    which lets its pool finish and acknowledge the job in hand (a SIGTERM to the pool too
    would kill that job before its acknowledgement, and RabbitMQ would hand it out again).
    """
    return Background(
        [sys.executable, "manage.py", "worker", "-P", "prefork", "-c", str(concurrency),
         "-n", f"{name}-{uuid.uuid4().hex[:8]}@%h"],
        cwd=ROOT, env=env, stderr_apart=True, stop_group=False)


def logged(worker, pattern, seconds=120):
    """The match of the first line of *worker*'s log that matches *pattern*, once it comes."""
    found = worker.wait_for_match(pattern, seconds)
    assert found, f"no line matching {pattern!r} in the log:\n{worker.stderr}"
    return found


def completes(call, seconds=120):
    """call()'s result once it completes, run in a thread (in this context: the app's).

    The test fails if *call* is still running after *seconds*: a guard against a test that
    would hang, for what would wait forever on a server that never answers. Not a speed limit.
    """
    context = contextvars.copy_context()
    outcome = {}

    def run():
        try:
            outcome["result"] = context.run(call)
        except BaseException as exc:  # handed to the test
            outcome["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still waiting after {seconds} s"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
