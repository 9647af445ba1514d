"""Talking to a server the tests started: a free port, and the first answer it gives."""
import socket
import time
import urllib.error
import urllib.request


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_answer(url, seconds=30, process=None):
    """(status, body) of the first HTTP answer, error statuses included; polls until the
    server listens, and gives up early if *process* (the server) has exited."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()
        except OSError:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)  # the server is still starting: nothing to wait on but its port
