"""Real processes the tests start: servers, concurrent commands; always stopped, output kept."""
import os
import signal
import subprocess
import threading

from tests.http import first_answer


class Background:
    """A real process in its own process group, its output (stdout and stderr) collected.

    Use it as a context manager: leaving the block stops the whole group (a reloader or a
    gunicorn master with its workers) with *stop_signal*, unless it has ended; ``output``
    then holds everything it printed. ``wait_for(text)`` blocks until a line containing
    *text* appears; ``finish()`` waits for the end.
    """

    def __init__(self, argv, cwd, env, stop_signal=signal.SIGTERM):
        self.process = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True,
                                        start_new_session=True)
        self.stop_signal = stop_signal
        self.returncode = None
        self._lines = []
        self._seen = threading.Condition()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            with self._seen:
                self._lines.append(line)
                self._seen.notify_all()
        with self._seen:
            self._seen.notify_all()

    @property
    def output(self):
        with self._seen:
            return "".join(self._lines)

    def wait_for(self, text, seconds=60):
        """Wait until the server prints a line containing *text* (False if it never does)."""
        with self._seen:
            return self._seen.wait_for(
                lambda: any(text in line for line in self._lines) or not self._reader.is_alive(),
                timeout=seconds) and any(text in line for line in self._lines)

    def answer(self, url, seconds=30):
        return first_answer(url, seconds=seconds, process=self.process)

    def finish(self, timeout=120):
        """Wait for the process to end by itself; its exit status."""
        self.returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return self.returncode

    def stop(self, timeout=60):
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, self.stop_signal)
            except ProcessLookupError:
                pass
        try:
            self.returncode = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.returncode = self.process.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        return self.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()
