"""Writers at once: SQLite waits instead of failing, and no post is lost or stored twice."""
import http.cookiejar
import re
import sqlite3
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter

from models import QuestionModel
from tests.backends import sqlite_only
from tests.http import free_port
from tests.site import text

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


@sqlite_only
def test_a_long_read_does_not_make_a_post_fail(site, app, database):
    """A reader holding a snapshot (a backup, a slow search) no longer makes every writer wait
    for it and fail with "database is locked" (write-ahead log)."""
    site.signed_up()
    reader = sqlite3.connect(database.url.removeprefix("sqlite:///"), isolation_level=None)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT COUNT(*) FROM question").fetchone() == (0,)
        response = site.ask(title="Written while a read is open")
        assert response.status_code == 302, text(response)
        # The reader's snapshot is its own: the row appears to it after its transaction.
        assert reader.execute("SELECT COUNT(*) FROM question").fetchone() == (0,)
        reader.execute("COMMIT")
        assert reader.execute("SELECT COUNT(*) FROM question").fetchone() == (1,)
    finally:
        reader.close()
    assert [q.title for q in QuestionModel.query] == ["Written while a read is open"]


class Poster:
    """A logged-in visitor over real HTTP."""

    def __init__(self, base, number):
        self.base = base
        self.number = number
        jar = http.cookiejar.CookieJar(policy=PlainHttpPolicy())
        # No redirect following: the 302 after a post is the acknowledgement.
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar),
                                                  NoRedirect)

    def open(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, data=body, timeout=120) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def log_in(self):
        token = CSRF.search(self.open("/auth/login")[1]).group(1)
        status, _ = self.open("/auth/login", {"email": f"demo{self.number}@example.com",
                                              "password": "demo-password", "csrf_token": token})
        assert status == 302
        self.token = CSRF.search(self.open("/qa/public")[1]).group(1)

    def post(self, title):
        return self.open("/qa/public", {"title": title, "content": "In parallel.",
                                        "csrf_token": self.token})[0]


class PlainHttpPolicy(http.cookiejar.DefaultCookiePolicy):
    """Sends production's Secure cookies over the loopback's plain HTTP (no TLS in tests)."""

    def return_ok_secure(self, cookie, request):
        return True


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_parallel_posts_through_gunicorn_all_succeed_once_each(project):
    """The issue's setup: gunicorn -w 4 with 8 threads each, 32 visitors posting at once."""
    project.manage("db", "upgrade")
    project.manage("seed", "--users", "32", "--questions", "0", "--answers", "0")
    port = free_port()
    env = {"FLASK_CONFIG": "production", "SECRET_KEY": "k" * 64, "WEB_CONCURRENCY": "4",
           "GUNICORN_THREADS": "8", "GUNICORN_BIND": f"127.0.0.1:{port}", "LOG_LEVEL": "WARNING"}
    with project.background("-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app",
                            env=env) as server:
        assert server.answer(f"http://127.0.0.1:{port}/healthz", seconds=120)[0] == 200
        posters = [Poster(f"http://127.0.0.1:{port}", n) for n in range(1, 33)]
        for poster in posters:
            poster.log_in()
        statuses = Counter()
        acknowledged = []
        lock = threading.Lock()
        start = threading.Barrier(len(posters))

        def post_many(poster):
            start.wait()
            for i in range(12):
                title = f"parallel {poster.number}-{i}"
                status = poster.post(title)
                with lock:
                    statuses[status] += 1
                    if status == 302:
                        acknowledged.append(title)

        threads = [threading.Thread(target=post_many, args=(p,)) for p in posters]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        output = server.output
    assert statuses == {302: 32 * 12}, output
    stored = Counter(row[0] for row in project.database.execute(
        "SELECT title FROM question WHERE title LIKE 'parallel %'"))
    assert stored == Counter(acknowledged) and set(stored.values()) == {1}
    assert "Traceback" not in output and "database is locked" not in output
