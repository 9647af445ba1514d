"""What the mail-queue tests run: RabbitMQ queues of their own, worker processes, SMTP servers."""
import email
import email.policy
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid

from aiosmtpd.controller import Controller
from kombu import Connection

from tests.cli import APP_VARIABLES, ROOT

RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_available():
    try:
        with Connection(RABBITMQ_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def unique_queue():
    """A queue (and exchange) name no other test run or helper on this broker uses."""
    return f"test-mail-{uuid.uuid4().hex[:12]}"


def queue_depth(name):
    """(jobs ready in *name*, consumers listening); (0, 0) when it does not exist."""
    with Connection(RABBITMQ_URL) as connection, connection.channel() as channel:
        try:
            _, ready, consumers = channel.queue_declare(name, passive=True)
        except connection.channel_errors:
            return 0, 0
        return ready, consumers


def delete_queue(name):
    """Remove *name* and its exchange from the broker, whatever state they are in."""
    with Connection(RABBITMQ_URL) as connection:
        for delete in ("queue_delete", "exchange_delete"):
            with connection.channel() as channel:
                try:
                    getattr(channel, delete)(name)
                except connection.channel_errors:
                    pass  # never declared


class Inbox:
    """aiosmtpd handler: the messages it accepted, and a way to wait for a number of them."""

    def __init__(self):
        self.messages = []
        self._changed = threading.Condition()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    def wait_for(self, count, timeout=30):
        with self._changed:
            if not self._changed.wait_for(lambda: len(self.messages) >= count, timeout):
                raise AssertionError(f"{len(self.messages)} mails arrived, not {count}, "
                                     f"in {timeout} s")
        return list(self.messages)

    def recipients(self):
        return [m["To"] for m in self.messages]

    def code_for(self, address):
        codes = [re.search(r"\b(\d{6})\b", m.get_content()).group(1)
                 for m in self.messages if m["To"] == address]
        assert len(codes) == 1, f"{len(codes)} mails to {address}"
        return codes[0]


class SMTPStandIn:
    """An SMTP address that first hangs (accepts connections, never answers), then serves.

    While hanging it counts the connections it accepted and keeps them open, as a stuck
    mail server does; ``serve()`` puts a real SMTP server (aiosmtpd) on the same port.
    """

    def __init__(self, authenticator=None):
        self.inbox = Inbox()
        self.accepted = 0
        self._accepted_changed = threading.Condition()
        self._held = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._authenticator = authenticator
        self._controller = None
        self._thread = threading.Thread(target=self._hang, daemon=True)
        self._thread.start()

    def _hang(self):
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return  # closed by serve() or close()
            with self._accepted_changed:
                self._held.append(connection)
                self.accepted += 1
                self._accepted_changed.notify_all()

    def wait_for_connections(self, count, timeout=30):
        with self._accepted_changed:
            if not self._accepted_changed.wait_for(lambda: self.accepted >= count, timeout):
                raise AssertionError(f"{self.accepted} SMTP connections, not {count}, "
                                     f"in {timeout} s")

    def _stop_listening(self):
        # shutdown() wakes the accept() blocked in the thread; close() alone would not, and
        # the port would stay taken.
        try:
            self._listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already shut
        self._listener.close()
        self._thread.join(10)

    def serve(self):
        """Stop hanging: from now on a real SMTP server answers on this port."""
        self._stop_listening()
        options = {}
        if self._authenticator is not None:
            options = {"authenticator": self._authenticator, "auth_require_tls": False}
        self._controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                      **options)
        self._controller.start()

    def close(self):
        self._stop_listening()
        for connection in self._held:
            connection.close()
        if self._controller is not None:
            self._controller.stop()


def serving_smtp(authenticator=None):
    smtp = SMTPStandIn(authenticator)
    smtp.serve()
    return smtp


def app_env(**settings):
    """The environment of an app process: this shell's, minus every app setting, plus these."""
    env = {k: v for k, v in os.environ.items()
           if k not in APP_VARIABLES}
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    env.update({k: str(v) for k, v in settings.items()})
    return env


READY = r"@\S+ ready\."


def wait_for_line(path, pattern, process, timeout=60):
    """Wait until the file at *path*, written by *process*, has a line matching *pattern*."""
    regex = re.compile(pattern, re.M)
    deadline = time.monotonic() + timeout
    while True:
        found = regex.search(path.read_text())
        if found:
            return found
        if process.poll() is not None:
            raise AssertionError(f"{process.args} exited with {process.returncode}:\n"
                                 f"{path.read_text()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"{process.args} logged no {pattern!r} in {timeout} s:\n"
                                 f"{path.read_text()}")
        # A bounded poll: the writer is another process, its log file the only signal.
        time.sleep(0.05)


class WorkerProcess:
    """``python manage.py worker`` in a process group of its own; its log (stderr) and what
    Celery prints (stdout: the banner, the shutdown notice) each in a file."""

    def __init__(self, tmp_path, name, env, concurrency=1):
        self.name = f"{name}-{uuid.uuid4().hex[:8]}"
        self.log_path = tmp_path / f"{self.name}.log"
        self.stdout_path = tmp_path / f"{self.name}.stdout"
        self._files = [open(self.log_path, "w"), open(self.stdout_path, "w")]
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "worker", "-P", "prefork", "-c", str(concurrency),
             "-n", f"{self.name}@%h"],
            cwd=ROOT, env=env, stderr=self._files[0], stdout=self._files[1],
            start_new_session=True,
        )

    def log(self):
        return self.log_path.read_text()

    def stdout(self):
        return self.stdout_path.read_text()

    def wait_for_line(self, pattern, timeout=60):
        """Wait until the worker logs a line matching *pattern*; that match."""
        return wait_for_line(self.log_path, pattern, self.process, timeout)

    def wait_ready(self):
        self.wait_for_line(READY)
        return self

    def pool_processes(self):
        """The pids of the worker's prefork pool (the children of its main process)."""
        children = []
        for tid in os.listdir(f"/proc/{self.process.pid}/task"):
            with open(f"/proc/{self.process.pid}/task/{tid}/children") as file:
                children += [int(pid) for pid in file.read().split()]
        return children

    def kill(self):
        """SIGKILL the whole worker, pool included: what a crash or an OOM kill does."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(30)

    def stop(self):
        """A warm shutdown (SIGTERM): the job in hand finishes, then the worker exits."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(30)
        for file in self._files:
            file.close()
