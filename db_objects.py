"""The triggers the models' tables need, and the search tables they keep: one home for the
statements, run by the migrations that made them and by db.create_all() (models.py); and
the search index filled set-wise for a bulk load (cli/seed.py)."""
# A change to a statement here changes what those migrations do: write it as a new revision
# that drops and re-creates the objects, with its own copy of the old statements.
import contextlib
import re

from sqlalchemy import event, inspect, text

from migration_safety.names import QUESTION_COUNTER

# Triggers, not the app, number the rows: every writer (the site, seed, a console) gets the
# same numbers. MariaDB numbers questions from a one-row counter table, locked by its UPDATE:
# MAX(seq) + 1 under concurrent inserts would hand two questions the same number (or, read
# FOR UPDATE, deadlock on the gap lock). SQLite writes one transaction at a time, so MAX is
# safe there. An answer takes its number from its question's answer_count, whose row lock
# serialises the answers of one question on both databases. An answer inserted with its seq
# given comes from a bulk loader that numbers and counts its rows itself (cli/seed.py): a
# trigger per row would cost it minutes at half a million answers.

NUMBERING_SQLITE = [
    """CREATE TRIGGER question_number AFTER INSERT ON question BEGIN
        UPDATE question SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM question)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER answer_number AFTER INSERT ON answer WHEN NEW.seq IS NULL BEGIN
        UPDATE question SET answer_count = answer_count + 1 WHERE id = NEW.question_id;
        UPDATE answer SET seq = (SELECT answer_count FROM question WHERE id = NEW.question_id)
        WHERE id = NEW.id;
    END""",
]
NUMBERING_MYSQL = [
    # The INSERT puts back a counter row that is missing (a TRUNCATE, say), from the data.
    f"""CREATE TRIGGER question_number BEFORE INSERT ON question FOR EACH ROW BEGIN
        UPDATE {QUESTION_COUNTER} SET value = value + 1 WHERE id = 1;
        IF ROW_COUNT() = 0 THEN
            INSERT INTO {QUESTION_COUNTER} (id, value) SELECT 1, COALESCE(MAX(seq), 0) + 1 FROM question;
        END IF;
        SET NEW.seq = (SELECT value FROM {QUESTION_COUNTER} WHERE id = 1);
    END""",
    """CREATE TRIGGER answer_number BEFORE INSERT ON answer FOR EACH ROW
    IF NEW.seq IS NULL THEN
        UPDATE question SET answer_count = answer_count + 1 WHERE id = NEW.question_id;
        SET NEW.seq = (SELECT answer_count FROM question WHERE id = NEW.question_id);
    END IF""",
]

# The counter's table, and its row from the questions already there.
COUNTER_TABLE_MYSQL = [
    f"CREATE TABLE {QUESTION_COUNTER} (id INTEGER NOT NULL, value INTEGER NOT NULL, "
    f"CONSTRAINT pk_{QUESTION_COUNTER} PRIMARY KEY (id)) "
    "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    f"INSERT INTO {QUESTION_COUNTER} (id, value) SELECT 1, COALESCE(MAX(seq), 0) FROM question",
]

# The tables below are the search index's own (prefix search_, which autogenerate and db check
# ignore: migration_safety/names.py); triggers keep them in step with question, whoever
# writes to it. blueprints/search.py reads them.
# Bytes of the longest question: title, a newline, content (blueprints/forms.py), 3 bytes a
# character at most where it matters (below).
LONGEST = 3 * (200 + 1 + 10_000)

# SQLite: FTS5 with the trigram tokenizer over question (external content: no second copy of
# the text), and search_gram, the CJK characters and character pairs of each question, which
# trigrams cannot find. search_number (1..LONGEST) stands in for a loop: triggers cannot use
# a recursive WITH. The text is read as UTF-8 bytes: substr() on text walks from the start
# for every character (0.3 ms a question turned into 1.5 ms), on a blob it jumps. A character
# from U+3000 to U+DFFF (CJK symbols, kana, Han, Hangul; search.is_cjk) is 3 bytes, the first
# one E3 to ED, which no other character's bytes are.
SQLITE_GRAMS = """INSERT OR IGNORE INTO search_gram (gram, question_id)
        SELECT CAST(substr(t.b, n.n, w.w) AS TEXT), NEW.id
        FROM (SELECT CAST(NEW.title || char(10) || NEW.content AS BLOB) AS b) AS t
        JOIN search_number AS n ON n.n <= length(t.b) - 2
        JOIN (SELECT 3 AS w UNION ALL SELECT 6) AS w
        WHERE substr(t.b, n.n, 1) BETWEEN x'E3' AND x'ED'
        AND (w.w = 3 OR substr(t.b, n.n + 3, 1) BETWEEN x'E3' AND x'ED');"""
SQLITE_FORGET = """INSERT INTO search_fts (search_fts, rowid, title, content)
        VALUES ('delete', OLD.id, OLD.title, OLD.content);
        DELETE FROM search_gram WHERE question_id = OLD.id;"""
SQLITE_SEARCH_INSERT = f"""CREATE TRIGGER search_question_insert AFTER INSERT ON question BEGIN
        INSERT INTO search_fts (rowid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
        {SQLITE_GRAMS}
    END"""
SEARCH_SQLITE = [
    "CREATE VIRTUAL TABLE search_fts USING fts5(title, content, content='question', "
    "content_rowid='id', tokenize='trigram')",
    "INSERT INTO search_fts (search_fts) VALUES ('rebuild')",
    "CREATE TABLE search_number (n INTEGER PRIMARY KEY)",
    f"INSERT INTO search_number (n) WITH RECURSIVE c(n) AS "
    f"(SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < {LONGEST}) SELECT n FROM c",
    "CREATE TABLE search_gram (gram TEXT NOT NULL, question_id INTEGER NOT NULL, "
    "PRIMARY KEY (gram, question_id)) WITHOUT ROWID",
    # The rows already there.
    SQLITE_GRAMS.replace("NEW.id", "t.id").replace(
        "(SELECT CAST(NEW.title || char(10) || NEW.content AS BLOB) AS b)",
        "(SELECT id, CAST(title || char(10) || content AS BLOB) AS b FROM question)").rstrip(";"),
    SQLITE_SEARCH_INSERT,
    # The site never edits or deletes a question; a console might.
    f"""CREATE TRIGGER search_question_update AFTER UPDATE OF title, content ON question BEGIN
        {SQLITE_FORGET}
        INSERT INTO search_fts (rowid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
        {SQLITE_GRAMS}
    END""",
    f"""CREATE TRIGGER search_question_delete AFTER DELETE ON question BEGIN
        {SQLITE_FORGET}
    END""",
]
SEARCH_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS search_question_delete",
    "DROP TRIGGER IF EXISTS search_question_update",
    "DROP TRIGGER IF EXISTS search_question_insert",
    "DROP TABLE IF EXISTS search_gram",
    "DROP TABLE IF EXISTS search_number",
    "DROP TABLE IF EXISTS search_fts",
]

# A bulk loader's way round search_question_insert on SQLite (cli/seed.py): the trigger
# finds one question's grams by walking its bytes in SQL, which made inserting 100k seeded
# questions take 33 s; with the trigger dropped for the inserts, the same index is filled
# in a few statements (FTS5 in one INSERT ... SELECT, the grams made in Python) in 9 s, and
# FTS5's index is merged into one segment after them (1.7 s more).
#
# A pattern string, compiled at the first use (re caches it): compiling it took 1.5 ms, which
# every start of the app would pay.
CJK_RUN = "[\u3000-\udfff]+"


def sqlite_grams(text):
    """The grams SQLITE_GRAMS stores for a question whose title, a newline and content are
    *text*: each CJK character (U+3000-U+DFFF, 3 bytes in UTF-8, lead byte E3-ED) and each
    pair of adjacent ones (tests/test_seed.py compares the two on the same rows)."""
    grams = set()
    for run in re.findall(CJK_RUN, text):
        grams.update(run)
        grams.update(run[i:i + 2] for i in range(len(run) - 1))
    return grams


def begin_for_ddl(connection):
    """On SQLite, open the connection's transaction now if none is open: pysqlite opens one
    at the first INSERT, UPDATE or DELETE only, and DDL before that (a DROP TRIGGER, a
    temporary table) would run, and stay, on its own, whatever the transaction's fate."""
    if (connection.dialect.name == "sqlite"
            and not connection.connection.dbapi_connection.in_transaction):
        connection.exec_driver_sql("BEGIN IMMEDIATE")


@contextlib.contextmanager
def search_index_in_bulk(connection):
    """Questions inserted inside the block are indexed for search in a few statements at its
    end, where a trigger per row would cost minutes at 100k questions. The caller commits, or
    rolls back after a failure.

    SQLite: search_question_insert is dropped for the block and re-created at its end, all
    in the connection's transaction (SQLite's DDL is transactional): the rollback leaves
    the trigger and the index as they were. MariaDB: each DDL statement commits there, so
    search_mroonga's trigger stays (its per-row copy costs a few seconds at 100k
    questions); the recent tier's stands aside (BULK_LOAD_VARIABLE) and the tier is
    refilled once."""
    if connection.dialect.name == "sqlite":
        with _sqlite_search_in_bulk(connection):
            yield
    else:
        with _recent_tier_in_bulk(connection):
            yield


@contextlib.contextmanager
def _recent_tier_in_bulk(connection):
    if not inspect(connection).has_table("search_recent"):
        yield
        return
    connection.exec_driver_sql(f"SET {BULK_LOAD_VARIABLE} = 1")
    try:
        yield
        for statement in search_recent_fill():
            connection.exec_driver_sql(statement)
    finally:
        # The variable is the connection's, which goes back to the pool: unset, whatever
        # happened, or the site's inserts on it would leave the tier behind.
        connection.exec_driver_sql(f"SET {BULK_LOAD_VARIABLE} = NULL")


@contextlib.contextmanager
def _sqlite_search_in_bulk(connection):
    if not connection.exec_driver_sql(
            "SELECT 1 FROM sqlite_master WHERE type = 'trigger' "
            "AND name = 'search_question_insert'").first():
        yield
        return
    begin_for_ddl(connection)
    # New rows get ids above the highest (INTEGER PRIMARY KEY, no AUTOINCREMENT), and the
    # transaction's write lock keeps every other writer out until the commit.
    after = connection.exec_driver_sql("SELECT COALESCE(MAX(id), 0) FROM question").scalar()
    connection.exec_driver_sql("DROP TRIGGER search_question_insert")
    yield
    connection.exec_driver_sql(
        "INSERT INTO search_fts (rowid, title, content) "
        "SELECT id, title, content FROM question WHERE id > ?", (after,))
    # A large INSERT leaves FTS5's index in a dozen segments (it writes one each time its
    # buffer fills), and every search then reads each of them: merged into one, a search of
    # two common words at 100k questions took 0.26 ms instead of 1.5 (1.7 s to merge).
    connection.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
    # Sorted: the rows go into the (gram, question_id) B-tree in its order.
    grams = sorted(
        (gram, question_id)
        for question_id, title, content in connection.exec_driver_sql(
            "SELECT id, title, content FROM question WHERE id > ?", (after,))
        for gram in sqlite_grams(f"{title}\n{content}"))
    if grams:  # (an empty list would be one execution without parameters)
        connection.exec_driver_sql(
            "INSERT OR IGNORE INTO search_gram (gram, question_id) VALUES (?, ?)", grams)
    connection.exec_driver_sql(SQLITE_SEARCH_INSERT)


# MariaDB: Mroonga (README, "Search"), a copy of title and content in a Mroonga table with a
# full-text index by TokenBigram: CJK text in character pairs (any run of 1+ characters is
# found), other scripts by word (found by prefix: paginat*). Bigrams of Latin text too
# (TokenBigramSplitSymbolAlphaDigit) would find any run, as SQLite's trigrams do, but took
# three times as long to index (0.45 against 0.16 ms a question). Mroonga tables are
# not transactional: REPLACE makes a row left by a rolled-back insert harmless, and reads
# join question, which has no such row. Without Mroonga on the server, no index: search
# falls back to LIKE.


def mroonga_table(name):
    """A Mroonga copy of the questions' title and content, *name*, full-text indexed by
    TokenBigram (search_mroonga, and the recent tier)."""
    return (f"CREATE TABLE {name} (id INT NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL, "
            f"content TEXT NOT NULL, FULLTEXT INDEX ft_{name} (title, content) "
            "COMMENT 'tokenizer \"TokenBigram\"') ENGINE=Mroonga "
            "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")


SEARCH_MROONGA = [
    mroonga_table("search_mroonga"),
    "INSERT INTO search_mroonga (id, title, content) SELECT id, title, content FROM question",
    "CREATE TRIGGER search_question_insert AFTER INSERT ON question FOR EACH ROW "
    "REPLACE INTO search_mroonga (id, title, content) VALUES (NEW.id, NEW.title, NEW.content)",
    "CREATE TRIGGER search_question_update AFTER UPDATE ON question FOR EACH ROW "
    "REPLACE INTO search_mroonga (id, title, content) VALUES (NEW.id, NEW.title, NEW.content)",
    "CREATE TRIGGER search_question_delete AFTER DELETE ON question FOR EACH ROW "
    "DELETE FROM search_mroonga WHERE id = OLD.id",
]
SEARCH_MROONGA_DROP = [
    "DROP TRIGGER IF EXISTS search_question_delete",
    "DROP TRIGGER IF EXISTS search_question_update",
    "DROP TRIGGER IF EXISTS search_question_insert",
    "DROP TABLE IF EXISTS search_mroonga",
]

# MariaDB: the recent tier, a second Mroonga table like search_mroonga holding only the
# newest questions, so that page 1 of a common word reads the postings of RECENT questions,
# not of all of them (Mroonga reads every posting of a word: README, "Search"). The rule
# search relies on: every question with an id at or above the tier's smallest id,
# MIN(search_recent.id), has its row in the tier. A question joins the tier only at or above
# that id (a row inserted by hand with a smaller id stays out), or when the tier is empty
# only as the newest question; each insert drops the rows RECENT ids below it, so the tier
# holds the questions with id > MAX(id) - RECENT (fewer where ids have gaps). Both tables
# are Mroonga, so a rolled-back insert leaves the tier as it leaves search_mroonga: a row
# without a question, which search's join drops, and a smaller tier, which the rule allows.
# Separate triggers, not more statements in search_question_*: db adopt compares triggers by
# name, so a database missing the tier's triggers is told from one at head.
RECENT = 5000
# A MariaDB user variable, set only on a bulk loader's own connection.
BULK_LOAD_VARIABLE = "@qa_search_bulk_load"


def search_recent():
    """The tier's table, triggers and first rows, for RECENT as it is when called (a test
    makes it small)."""
    return [
        mroonga_table("search_recent"),
        # Triggers first: CREATE TRIGGER waits for the transactions writing to question, so
        # the copy below sees every question the triggers did not.
        # A bulk load sets BULK_LOAD_VARIABLE on its connection and refills the tier once at
        # its end (search_index_in_bulk): a Mroonga delete per seeded question cost minutes.
        f"""CREATE TRIGGER search_recent_insert AFTER INSERT ON question FOR EACH ROW
        IF {BULK_LOAD_VARIABLE} IS NULL AND NEW.id >= COALESCE(
            (SELECT MIN(id) FROM search_recent), (SELECT MAX(id) FROM question))
        THEN
            REPLACE INTO search_recent (id, title, content) VALUES (NEW.id, NEW.title, NEW.content);
            DELETE FROM search_recent WHERE id <= NEW.id - {RECENT};
        END IF""",
        # Only a change of the text (answers update answer_count on every answer), compared
        # as bytes: the column's collation takes 'Flask' and 'flask' for equal. A new id (a
        # console's doing) leaves the tier, and comes back as an insert would.
        """CREATE TRIGGER search_recent_update AFTER UPDATE ON question FOR EACH ROW
        IF NEW.id <> OLD.id THEN
            DELETE FROM search_recent WHERE id = OLD.id;
            IF NEW.id >= (SELECT MIN(id) FROM search_recent) THEN
                REPLACE INTO search_recent (id, title, content)
                VALUES (NEW.id, NEW.title, NEW.content);
            END IF;
        ELSEIF BINARY NEW.title <> BINARY OLD.title OR BINARY NEW.content <> BINARY OLD.content
        THEN
            UPDATE search_recent SET title = NEW.title, content = NEW.content WHERE id = NEW.id;
        END IF""",
        "CREATE TRIGGER search_recent_delete AFTER DELETE ON question FOR EACH ROW "
        "DELETE FROM search_recent WHERE id = OLD.id",
        *search_recent_fill(),
    ]


def search_recent_fill():
    """The tier's rows from the question table: the newest RECENT, and no older ones."""
    return [
        "REPLACE INTO search_recent (id, title, content) SELECT id, title, content "
        f"FROM question WHERE id > (SELECT MAX(id) FROM question) - {RECENT}",
        f"DELETE FROM search_recent WHERE id <= (SELECT MAX(id) FROM question) - {RECENT}",
    ]


SEARCH_RECENT_DROP = [
    "DROP TRIGGER IF EXISTS search_recent_delete",
    "DROP TRIGGER IF EXISTS search_recent_update",
    "DROP TRIGGER IF EXISTS search_recent_insert",
    "DROP TABLE IF EXISTS search_recent",
]


def has_mroonga(connection):
    """Whether the MariaDB server behind *connection* has the Mroonga engine."""
    return connection.execute(text(
        "SELECT COUNT(*) FROM information_schema.engines "
        "WHERE engine = 'Mroonga' AND support IN ('YES', 'DEFAULT')")).scalar() > 0


def create_all(connection):
    """Create the triggers and search tables, as the migrations at head have them."""
    if connection.dialect.name == "sqlite":
        statements = NUMBERING_SQLITE + SEARCH_SQLITE
    else:
        statements = COUNTER_TABLE_MYSQL + NUMBERING_MYSQL + (
            SEARCH_MROONGA + search_recent() if has_mroonga(connection) else [])
    for statement in statements:
        connection.exec_driver_sql(statement)


def follow_create_all(metadata):
    """db.create_all() of the question and answer tables also creates what they need."""
    @event.listens_for(metadata, "after_create")
    def _create(target, connection, tables=(), **kw):
        if {"question", "answer"} <= {table.name for table in tables}:
            create_all(connection)
