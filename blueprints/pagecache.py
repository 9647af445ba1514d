"""Rendered pages for anonymous visitors, reused while the questions and answers are unchanged."""
import functools
import threading
from collections import OrderedDict
from time import monotonic

from flask import current_app, g, make_response, request, session
from sqlalchemy import func, select

from exts import db
from models import AnswerModel, QuestionModel

# Rows are only ever added (the site has no edit or delete), so the highest ids tell whether
# anything a page shows has changed, in any worker process: two index lookups, one query.
DATA_VERSION = select(
    select(func.max(QuestionModel.id)).scalar_subquery(),
    select(func.max(AnswerModel.id)).scalar_subquery(),
)


class PageCache:
    """A small LRU of page bodies, each kept with the data version it was rendered from."""

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

    def get(self, key, version, now, ttl):
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            entry_version, stored, body = entry
            # The age limit covers what the version misses: on MySQL, two inserts can commit
            # out of id order, so a page may lack a row whose id is below the maximum.
            if entry_version != version or now - stored > ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return body

    def put(self, key, version, now, body, size):
        with self._lock:
            self._entries[key] = (version, now, body)
            self._entries.move_to_end(key)
            while len(self._entries) > size:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


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
        cache = current_app.extensions.setdefault("page_cache", PageCache())
        now = monotonic()
        version = cache.version(now, config["PAGE_CACHE_CHECK_SECONDS"])
        key = request.script_root + request.full_path
        ttl = config["PAGE_CACHE_SECONDS"]
        body = cache.get(key, version, now, ttl)
        if body is not None:
            return current_app.response_class(body, mimetype="text/html")
        response = make_response(view(**kwargs))
        # A page that wrote to the session (a CSRF token, a flash) belongs to one visitor.
        if response.status_code == 200 and not session.modified:
            cache.put(key, version, now, response.get_data(), size)
        return response

    return wrapped
