"""Real processes the tests start: servers, concurrent commands; always stopped, output kept."""
import os
import re
import signal
import subprocess
import threading

from tests.http import first_answer


class Background:
    """A real process in its own process group, its output (stdout and stderr) collected.

    Use it as a context manager: leaving the block stops the whole group (a reloader or a
    gunicorn master with its workers) with *stop_signal*, unless it has ended; ``output``
    then holds everything it printed. Without *stop_group*, the signal goes to the process
    alone, which stops its children itself (a Celery worker's warm shutdown lets its pool
    finish the job in hand, as under ``docker stop``); the group is killed only if it has
    not ended after the timeout. With *stderr_apart*, ``output`` holds stdout alone and
    ``stderr`` the rest (a log that must not mix with what the program prints).
    ``wait_for(text)`` blocks until a line containing *text* appears, ``wait_for_match(regex)``
    until one matches; ``finish()`` waits for the end.
    """

    def __init__(self, argv, cwd, env, stop_signal=signal.SIGTERM, stderr_apart=False,
                 stop_group=True):
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
            stderr=subprocess.PIPE if stderr_apart else subprocess.STDOUT)
        self.stop_signal = stop_signal
        self.stop_group = stop_group
        self.returncode = None
        self._seen = threading.Condition()
        # Every line read, in the order read, as (stream, line).
        self._lines = []
        pipes = {"stdout": self.process.stdout}
        if stderr_apart:
            pipes["stderr"] = self.process.stderr
        self._readers = [threading.Thread(target=self._read, args=(name, pipe), daemon=True)
                         for name, pipe in pipes.items()]
        for reader in self._readers:
            reader.start()

    def _read(self, name, pipe):
        for line in pipe:
            with self._seen:
                self._lines.append((name, line))
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    def _text(self, stream):
        with self._seen:
            return "".join(line for name, line in self._lines if name == stream)

    @property
    def output(self):
        """What it printed on stdout, and on stderr unless that is kept apart."""
        return self._text("stdout")

    @property
    def stderr(self):
        """What it printed on stderr when started with *stderr_apart* ("" otherwise)."""
        return self._text("stderr")

    def _wait_for_line(self, found, seconds):
        """The first non-None found(line) over every line, waiting until one comes or the
        process closes its output; None if none came."""
        def first():
            return next((result for _, line in self._lines
                         if (result := found(line)) is not None), None)

        with self._seen:
            self._seen.wait_for(
                lambda: first() is not None or not any(r.is_alive() for r in self._readers),
                timeout=seconds)
            return first()

    def wait_for(self, text, seconds=60):
        """Wait until the process prints a line containing *text* (False if it never does)."""
        return self._wait_for_line(lambda line: True if text in line else None,
                                   seconds) is not None

    def wait_for_match(self, pattern, seconds=60):
        """Wait until a line matches the regular expression *pattern*; that match (None if
        none does before the process closes its output or *seconds* pass)."""
        regex = re.compile(pattern)
        return self._wait_for_line(regex.search, seconds)

    def children(self):
        """The pids of the process's children (a Celery worker's pool, say)."""
        pids = []
        for task in os.listdir(f"/proc/{self.process.pid}/task"):
            with open(f"/proc/{self.process.pid}/task/{task}/children") as file:
                pids += [int(pid) for pid in file.read().split()]
        return pids

    def answer(self, url, seconds=30):
        return first_answer(url, seconds=seconds, process=self.process)

    def finish(self, timeout=120):
        """Wait for the process to end by itself; its exit status."""
        self.returncode = self.process.wait(timeout=timeout)
        self._join(timeout)
        return self.returncode

    def kill(self, timeout=60):
        """SIGKILL the whole group at once, as a crash or the OOM killer would; its status."""
        self._signal(signal.SIGKILL)
        self.returncode = self.process.wait(timeout=timeout)
        self._join(timeout)
        return self.returncode

    def stop(self, timeout=60):
        if self.process.poll() is None:
            if self.stop_group:
                self._signal(self.stop_signal)
            else:
                self.process.send_signal(self.stop_signal)
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.returncode = self.process.wait(timeout=timeout)
        self._join(timeout)
        return self.returncode

    def _signal(self, signum):
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            pass  # the group has ended already

    def _join(self, timeout):
        for reader in self._readers:
            reader.join(timeout=timeout)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
