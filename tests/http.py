"""Talking to a server the tests started: a free port, and the first answer it gives."""
import http.client
import socket
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.site import csrf_token


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


class Visitor:
    """One browser of a server the tests started: its own session cookie, kept as it came
    (Secure or not), over plain HTTP."""

    def __init__(self, port):
        self.port = port
        self.cookie = None

    def request(self, method, path, fields=None, headers=None):
        """(status, body) of *method* *path*, with *fields* sent as a form."""
        status, _, text = self.exchange(method, path, fields, headers)
        return status, text

    def exchange(self, method, path, fields=None, headers=None):
        """(status, response headers, body) of *method* *path*, with *fields* as a form."""
        headers = dict(headers or {})
        body = None
        if fields is not None:
            body = urllib.parse.urlencode(fields)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookie:
            headers["Cookie"] = self.cookie
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        try:
            connection.request(method, path, body, headers)
            response = connection.getresponse()
            text = response.read().decode()
        finally:
            connection.close()
        for value in response.headers.get_all("Set-Cookie") or []:
            if value.startswith("session="):
                self.cookie = value.split(";", 1)[0]
        return response.status, response.headers, text

    def token(self, path):
        """The CSRF token of the form on the page at *path*."""
        return csrf_token(self.request("GET", path)[1])
