"""Rendered pages for anonymous visitors, reused while the questions and answers are unchanged."""
import functools
import threading
from collections import OrderedDict
from time import monotonic, perf_counter

from flask import current_app, g, make_response, request, session
from sqlalchemy import func, select

import logging_config
from exts import db
from models import AnswerModel, QuestionModel

# Rows are only ever added (the site has no edit or delete), so the highest ids tell whether
# anything a page shows has changed, in any worker process: two index lookups, one query.
DATA_VERSION = select(
    select(func.max(QuestionModel.id)).scalar_subquery(),
    select(func.max(AnswerModel.id)).scalar_subquery(),
)
# Where a view that stored its page leaves the entry, for the middleware to add the headers.
STORED = "qa.page_cache.stored"
# Headers that belong to one response, never to a stored page.
OWN_HEADERS = {"x-request-id", "set-cookie"}


class Entry:
    """A stored page: its body, the data version and time it was rendered at, and the headers
    the whole app sent with it (None until the response has left the app)."""

    __slots__ = ("version", "stored", "body", "headers")

    def __init__(self, version, stored, body):
        self.version, self.stored, self.body = version, stored, body
        self.headers = None


class PageCache:
    """A small LRU of rendered pages, each kept with the data version it was rendered from."""

    def __init__(self):
        self._entries = OrderedDict()
        self._lock = threading.Lock()
        self._version = None
        self._checked = None

    def version(self, now, interval):
        """The data version, read from the database at most once per *interval* seconds."""
        if self._checked is None or now - self._checked >= interval:
            # Core, not the ORM: this runs on a good share of anonymous requests.
            self._version = tuple(db.session.connection().execute(DATA_VERSION).one())
            self._checked = now
        return self._version

    def fresh_version(self, now, interval):
        """The data version if it was read within *interval* seconds, else None."""
        checked, version = self._checked, self._version
        if checked is None or now - checked >= interval:
            return None
        return version

    def get(self, key, version, now, ttl):
        """The Entry for *key* if it was rendered from *version* less than *ttl* seconds ago."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            # The age limit covers what the version misses: on MySQL, two inserts can commit
            # out of id order, so a page may lack a row whose id is below the maximum.
            if entry.version != version or now - entry.stored > ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def put(self, key, version, now, body, size):
        entry = Entry(version, now, body)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)
        return entry

    def clear(self):
        with self._lock:
            self._entries.clear()


def cache_key(environ):
    """A page's address as the WSGI server gave it: mount point, path and query string."""
    return f"{environ.get('SCRIPT_NAME', '')}{environ.get('PATH_INFO', '')}?" \
           f"{environ.get('QUERY_STRING', '')}"


def wsgi_path(environ):
    """PATH_INFO as text, as Flask's request.path reads it (WSGI carries it as latin-1)."""
    return environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")


def cached_for_anonymous(view):
    """Serve *view* from the cache to visitors who are not logged in and have no flash waiting."""

    @functools.wraps(view)
    def wrapped(**kwargs):
        config = current_app.config
        size = config.get("PAGE_CACHE_SIZE", 0)
        # A CSRF token left by a visit to a form changes nothing on these pages; a login or a
        # flash message does.
        if not size or g.user is not None or set(session) - {"csrf_token"}:
            return view(**kwargs)
        cache = current_app.extensions["page_cache"]
        now = monotonic()
        version = cache.version(now, config["PAGE_CACHE_CHECK_SECONDS"])
        key = cache_key(request.environ)
        entry = cache.get(key, version, now, config["PAGE_CACHE_SECONDS"])
        if entry is not None:
            return current_app.response_class(entry.body, mimetype="text/html")
        response = make_response(view(**kwargs))
        # A page that wrote to the session (a CSRF token, a flash) belongs to one visitor.
        if response.status_code == 200 and not session.modified:
            request.environ[STORED] = cache.put(key, version, now, response.get_data(), size)
        return response

    return wrapped


class AnonymousHits:
    """WSGI middleware: a stored page answered to a GET without a session cookie before any of
    Flask runs, with the headers the whole app sent when it rendered the page (security
    headers, Vary: Cookie) and a request id and log line of its own.

    Without a session cookie there is no login, no flash and no session to renew, which is all
    cached_for_anonymous checks; everything else, and a page whose data version is due for a
    check, goes through the app.
    """

    def __init__(self, app, wsgi_app, cache):
        self.app = app
        self.wsgi_app = wsgi_app
        self.cache = cache
        # "session=" anywhere in the header, so a cookie named like it only costs a render.
        self.cookie = app.config["SESSION_COOKIE_NAME"] + "="

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or self.cookie in environ.get("HTTP_COOKIE", ""):
            return self.wsgi_app(environ, start_response)
        started = perf_counter()
        config = self.app.config
        cache = self.cache
        now = monotonic()
        version = cache.fresh_version(now, config["PAGE_CACHE_CHECK_SECONDS"])
        entry = None
        if version is not None and config["PAGE_CACHE_SIZE"]:
            entry = cache.get(cache_key(environ), version, now, config["PAGE_CACHE_SECONDS"])
        if entry is None or entry.headers is None:
            return self.wsgi_app(environ, functools.partial(self._keep_headers, environ,
                                                            start_response))
        request_id = logging_config.request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response("200 OK", [*entry.headers, ("X-Request-ID", request_id)])
        logging_config.log_request(request_id, "GET", wsgi_path(environ), 200, started)
        return [entry.body]

    @staticmethod
    def _keep_headers(environ, start_response, status, headers, exc_info=None):
        entry = environ.get(STORED)
        if entry is not None and status.startswith("200 "):
            names = {name.lower() for name, _value in headers}
            # A response that set a cookie belonged to one visitor after all.
            if "set-cookie" not in names:
                entry.headers = [(name, value) for name, value in headers
                                 if name.lower() not in OWN_HEADERS]
        return start_response(status, headers, exc_info)


def install(app):
    """The app's page cache, and its stored pages answered in front of the app (Flask's
    documented place for middleware)."""
    cache = app.extensions["page_cache"] = PageCache()
    app.wsgi_app = AnonymousHits(app, app.wsgi_app, cache)
