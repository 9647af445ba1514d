"""Full-text search: every word of a query, in a title or text, found through an index."""
import functools
import re
import time
import unicodedata
import weakref

from markupsafe import Markup, escape
from sqlalchemy import DateTime, Integer, String, bindparam, text

from blueprints.forms import ID_MAX

# The search indexes (migration 9cd113545291) and what they find:
# - SQLite: FTS5's trigram tokenizer finds any run of 3+ characters; a table of the Chinese,
#   Japanese and Korean characters and character pairs of each question (search_gram) finds
#   the 1- and 2-character words those languages are full of (分页), which trigrams miss.
# - MariaDB with Mroonga: CJK runs of any length (bigrams), other words by prefix; the newest
#   questions also in a second, small index (search_recent, migration ab061ce821c9), read first.
# - MariaDB without Mroonga: LIKE, which reads every question (README, "Search").
# So a word of 1 or 2 Latin letters is left out of a search, and said to be.
SHORTEST = 3
MAX_TERMS = 8
SNIPPET = 80  # characters either side of the first match shown under a title

SQLITE = "sqlite"
MROONGA = "mroonga"
LIKE = "like"


def is_cjk(char):
    """CJK symbols, kana, Han and Hangul: the characters search_gram holds (U+3000-U+DFFF)."""
    return 0x3000 <= ord(char) <= 0xDFFF


def _edge(char):
    return unicodedata.category(char)[0] in "PSZC"


class Terms:
    """The words of a query: those searched, and those too short for the index."""

    def __init__(self, query):
        self.searched = []
        self.skipped = []
        seen = set()
        for word in query.split():
            # "paginate?" and "(flask)" mean the words, not the punctuation around them.
            start, end = 0, len(word)
            while start < end and _edge(word[start]):
                start += 1
            while end > start and _edge(word[end - 1]):
                end -= 1
            word = word[start:end]
            if not word or word.casefold() in seen:
                continue
            seen.add(word.casefold())
            if len(word) >= SHORTEST or all(is_cjk(c) for c in word):
                self.searched.append(word)
            else:
                self.skipped.append(word)
        del self.searched[MAX_TERMS:]

    def highlight(self, value):
        """*value* escaped, with each searched word marked."""
        # The pattern has one group: split gives text, word, text, word ... text. One Markup
        # at the end, not one per piece: a result page highlights forty texts.
        pieces = [escape(piece) for piece in _pattern(tuple(self.searched)).split(value)]
        pieces[1::2] = [f"<mark>{word}</mark>" for word in pieces[1::2]]
        return Markup("".join(pieces))

    def snippet(self, value):
        """The part of *value* around the first searched word, marked; None without one."""
        match = _pattern(tuple(self.searched)).search(value)
        if match is None:
            return None
        start, end = max(0, match.start() - SNIPPET), min(len(value), match.end() + SNIPPET)
        return (Markup("…" if start else "") + self.highlight(value[start:end])
                + Markup("…" if end < len(value) else ""))

    def marked(self, rows):
        """*rows* (plain_rows) with their titles marked and a marked snippet of each text
        (None without a match in it): done here, not by a template call per row."""
        return [row._replace(title=self.highlight(row.title), content=self.snippet(row.content))
                for row in rows]


@functools.lru_cache(maxsize=256)
def _pattern(words):
    longest_first = sorted(words, key=len, reverse=True)
    return re.compile("(" + "|".join(map(re.escape, longest_first)) + ")", re.IGNORECASE)


# The rows shown for the ids found: the question index and the user key, nothing else.
ROWS = ("SELECT q.id, q.title, q.content, q.create_time, q.answer_count, "
        "u.username AS author_name FROM ({ids}) AS hit "
        "JOIN question AS q ON q.id = hit.id JOIN user AS u ON u.id = q.author_id")
# Typed, so that create_time comes back a datetime from SQLite's text too.
COLUMNS = {"id": Integer, "title": String, "content": String, "create_time": DateTime,
           "answer_count": Integer, "author_name": String}


@functools.lru_cache(maxsize=256)
def statement(kind, long_terms, short_terms, oldest_first=False, lower=False, upper=False,
              recent=False):
    """The statement for *long_terms* and *short_terms* words on index *kind*, built once
    per shape (bind parameters :t0, :t1... in that order, then :first with *lower*, :last
    with *upper*, :limit and :offset); with *recent*, on Mroonga's recent tier.

    It finds the hits newest first (oldest first with *oldest_first*, for the page before a
    seek key), with ids from :first and up to :last, :limit of them after skipping :offset.
    That order is the index's own (ids grow with time): the database walks it from the key
    and stops after a page, so page 500 reached by its key costs what page 1 costs, and on
    SQLite the same at 10k and 100k questions. Mroonga reads every posting of the words
    first, so its pages cost more where a word is in more questions (README, "Search"):
    search() reads its recent tier first, a table of only the newest questions.
    """
    names = [f"t{i}" for i in range(long_terms + short_terms)]
    order = "ASC" if oldest_first else "DESC"
    key = "id"
    if kind == SQLITE:
        ids, key = _sqlite_ids(names[:long_terms], names[long_terms:], lower, upper)
    elif kind == MROONGA:
        # Comparisons of the key keep Mroonga's ORDER BY LIMIT inside the index
        # (Mroonga_fast_order_limit); BETWEEN or a subquery would not. Each costs a pass over
        # the hits, so a statement has only the bounds it needs; and a bound must be in the
        # column's range (Mroonga finds nothing for id < 2147483648).
        table = "search_recent" if recent else "search_mroonga"
        ids = (f"SELECT id FROM {table} WHERE MATCH (title, content) "
               "AGAINST (:t0 IN BOOLEAN MODE)" + _bounds("id", lower, upper))
    else:
        where = " AND ".join(f"(title LIKE :{n} ESCAPE '!' OR content LIKE :{n} ESCAPE '!')"
                             for n in names)
        ids = f"SELECT id FROM question WHERE {where}" + _bounds("id", lower, upper)
    sql = ROWS.format(ids=f"{ids} ORDER BY {key} {order} LIMIT :limit OFFSET :offset")
    if kind != SQLITE:
        sql = sql.replace("JOIN user ", "JOIN `user` ")
    bounds = [bindparam(name) for name, used in (("first", lower), ("last", upper)) if used]
    return text(sql).bindparams(*bounds, bindparam("limit"), bindparam("offset")).columns(
        **COLUMNS)


def _bounds(key, lower, upper):
    return (f" AND {key} >= :first" if lower else "") + (f" AND {key} <= :last" if upper else "")


def _sqlite_ids(long_names, short_names, lower, upper):
    if long_names:
        # One MATCH for all long words (FTS5 ANDs them), each a quoted string. FTS5 takes
        # the bounds on rowid from its own index.
        driver = "SELECT rowid AS id FROM search_fts WHERE search_fts MATCH :match"
        key = "search_fts.rowid"
        rest = short_names
    else:
        # The (gram, question_id) key: one gram's ids, in order, from the seek key on.
        driver = f"SELECT g0.question_id AS id FROM search_gram AS g0 WHERE g0.gram = :{short_names[0]}"
        key = "g0.question_id"
        rest = short_names[1:]
    checks = "".join(
        f" AND EXISTS (SELECT 1 FROM search_gram AS g{i + 1} WHERE g{i + 1}.gram = :{name} "
        f"AND g{i + 1}.question_id = {key})" for i, name in enumerate(rest))
    return driver + _bounds(key, lower, upper) + checks, key


def parameters(kind, terms):
    """(long, short, params) for :func:`statement` from the searched words of *terms*."""
    words = terms.searched
    if kind == SQLITE:
        long_words = [w for w in words if len(w) >= SHORTEST]
        short_words = [w for w in words if len(w) < SHORTEST]
        params = {f"t{i}": w for i, w in enumerate(long_words + short_words)}
        if long_words:
            params["match"] = " ".join('"' + w.replace('"', '""') + '"' for w in long_words)
        return len(long_words), len(short_words), params
    if kind == MROONGA:
        # Groonga's query syntax: *D+ makes every word required. A plain word is a prefix
        # (the index holds Latin words whole); anything else a quoted phrase, taken as it is.
        return 1, 0, {"t0": "*D+ " + " ".join(map(_groonga_term, words))}
    params = {f"t{i}": "%" + re.sub(r"([!%_])", r"!\1", w) + "%" for i, w in enumerate(words)}
    return len(words), 0, params


def _groonga_term(word):
    if word.isalnum() and not any(map(is_cjk, word)):
        return f"{word}*"
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


# Per engine (one per database and process): (kind, whether Mroonga's recent tier is there).
# The migrations decided, and that does not change while the app runs.
KINDS = weakref.WeakKeyDictionary()
# Per engine: (the recent tier's smallest id or None, when read).
FLOORS = weakref.WeakKeyDictionary()
FLOOR_SECONDS = 1.0


def index_kind(connection):
    """Which search index the database has: SQLITE, MROONGA or LIKE (no index)."""
    return _index(connection)[0]


def _index(connection):
    if connection.dialect.name == "sqlite":
        return SQLITE, False
    found = KINDS.get(connection.engine)
    if found is None:
        tables = set(connection.execute(text(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() "
            "AND table_name IN ('search_mroonga', 'search_recent')")).scalars())
        found = KINDS[connection.engine] = (
            (MROONGA, "search_recent" in tables) if "search_mroonga" in tables else (LIKE, False))
    return found


def recent_floor(connection):
    """The recent tier's smallest id (None when it is empty), read at most once a second.

    Only a hint of which pages lie in the tier: a floor read before the tier moved up sends
    a page to the tier that no longer holds it, which then costs a second query, never a hit
    (search() goes on below the tier's hits in the full index)."""
    now = time.monotonic()
    floor, read = FLOORS.get(connection.engine, (None, None))
    if read is None or now - read >= FLOOR_SECONDS:
        floor = connection.execute(text("SELECT MIN(id) FROM search_recent")).scalar()
        FLOORS[connection.engine] = (floor, now)
    return floor


def _reaches_tier(connection, last):
    """Whether the hits up to id *last* (None: the newest) start in the recent tier."""
    if last is None:
        return True
    floor = recent_floor(connection)
    return floor is not None and last >= floor


def search(connection, terms, per_page, page=1, before=None, after=None):
    """(rows, more): up to *per_page* rows newest first, and whether another page lies beyond
    them in the direction walked.

    With *before*, the hits older than that id (the page after one that ended there); with
    *after*, the hits newer than that id nearest to it (the page before one that began
    there), *more* then telling of newer ones still; with neither, page *page* by number,
    skipping (page - 1) * per_page hits.

    On Mroonga, page 1 and a page by a *before* key above the recent tier's floor are read
    from the tier first (db_objects.py: it holds every question from its smallest id up),
    and when it has less than a page, the rest from the full index, below the tier's last
    hit: the same rows as the full index alone, which a page by number or by an *after* key
    reads.
    """
    if after is not None and after >= ID_MAX:
        return [], False  # no id above it; and a bound past INT Mroonga may read wrong
    kind, tiered = _index(connection)
    long_terms, short_terms, params = parameters(kind, terms)
    oldest_first = after is not None
    # One more row than a page tells whether another page exists.
    limit = per_page + 1
    offset = 0 if before is not None or oldest_first else (page - 1) * per_page

    def hits(first, last, limit, recent=False):
        query = statement(kind, long_terms, short_terms, oldest_first,
                          first is not None, last is not None, recent)
        return connection.execute(query, {**params, "first": first, "last": last,
                                          "limit": limit, "offset": offset}).all()

    first = None if after is None else after + 1
    last = None if before is None else before - 1
    if tiered and not oldest_first and offset == 0 and _reaches_tier(connection, last):
        rows = hits(None, last, limit, recent=True)
        if len(rows) < limit:
            # Every hit at or above the tier's smallest id is in it: the rest are below its
            # last hit (without one, below the key).
            if rows:
                last = min(row.id for row in rows) - 1
            rows += hits(None, last, limit - len(rows))
    else:
        rows = hits(first, last, limit)
    # The join returns the rows in no particular order: nearest the key first, then the page.
    rows = sorted(rows, key=lambda row: row.id, reverse=not oldest_first)
    return sorted(rows[:per_page], key=lambda row: row.id, reverse=True), len(rows) > per_page
