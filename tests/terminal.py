"""Run a command on a pseudo-terminal and answer its questions, as a user at a keyboard would."""
import os
import select
import subprocess
import time


class Terminal:
    """A process whose stdin, stdout and stderr are one pseudo-terminal."""

    def __init__(self, argv, cwd, env):
        self._master, slave = os.openpty()
        self.process = subprocess.Popen(
            argv, cwd=cwd, env=env, stdin=slave, stdout=slave, stderr=slave,
            close_fds=True, start_new_session=True,
        )
        os.close(slave)
        self.output = ""
        self._seen = 0  # expect() searches the output after what it matched last
        self._closed = False

    def _read(self, deadline):
        """Read what is there before *deadline*; False once the process closed the terminal."""
        if self._closed:
            return False
        remaining = max(0.0, deadline - time.monotonic())
        ready, _, _ = select.select([self._master], [], [], remaining)
        if not ready:
            return True
        try:
            data = os.read(self._master, 4096)
        except OSError:  # EIO: every writer of the terminal has closed it
            data = b""
        if not data:
            self._closed = True
            return False
        # The terminal turns "\n" into "\r\n"; tests compare plain lines.
        self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
        return True

    def expect(self, text, timeout=60):
        """Wait until *text* appears; returns everything up to and including it."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.output.find(text, self._seen)
            if at >= 0:
                end = at + len(text)
                seen, self._seen = self._seen, end
                return self.output[seen:end]
            if time.monotonic() >= deadline or not self._read(deadline):
                if self.output.find(text, self._seen) >= 0:
                    continue
                raise AssertionError(f"{text!r} never appeared; the terminal showed:\n"
                                     f"{self.output}")

    def send(self, line):
        """Type *line* and press Enter."""
        os.write(self._master, line.encode() + b"\n")

    def finish(self, timeout=120):
        """Read to the end; the exit status."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            if time.monotonic() >= deadline:
                self.process.kill()
                raise AssertionError(f"still running after {timeout}s:\n{self.output}")
        returncode = self.process.wait(timeout=max(1.0, deadline - time.monotonic()))
        os.close(self._master)
        return returncode
