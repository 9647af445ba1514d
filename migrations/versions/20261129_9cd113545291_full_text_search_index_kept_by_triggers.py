"""full-text search index kept by triggers

Revision ID: 9cd113545291
Revises: 949dd11a1e1d
Create Date: 2026-11-29 21:53:08.475966

"""
import logging

from alembic import context, op


# revision identifiers, used by Alembic.
revision = '9cd113545291'
down_revision = '949dd11a1e1d'
branch_labels = None
depends_on = None


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
SQLITE_UPGRADE = [
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
    f"""CREATE TRIGGER search_question_insert AFTER INSERT ON question BEGIN
        INSERT INTO search_fts (rowid, title, content) VALUES (NEW.id, NEW.title, NEW.content);
        {SQLITE_GRAMS}
    END""",
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
SQLITE_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS search_question_delete",
    "DROP TRIGGER IF EXISTS search_question_update",
    "DROP TRIGGER IF EXISTS search_question_insert",
    "DROP TABLE IF EXISTS search_gram",
    "DROP TABLE IF EXISTS search_number",
    "DROP TABLE IF EXISTS search_fts",
]

# MariaDB: Mroonga (README, "Search"), a copy of title and content in a Mroonga table with a
# full-text index by TokenBigram: CJK text in character pairs (any run of 1+ characters is
# found), other scripts by word (found by prefix: paginat*). Bigrams of Latin text too
# (TokenBigramSplitSymbolAlphaDigit) would find any run, as SQLite's trigrams do, but took
# three times as long to index (0.45 against 0.16 ms a question). Mroonga tables are
# not transactional: REPLACE makes a row left by a rolled-back insert harmless, and reads
# join question, which has no such row. Without Mroonga on the server, no index: search
# falls back to LIKE.
MROONGA_UPGRADE = [
    "CREATE TABLE search_mroonga (id INT NOT NULL PRIMARY KEY, title VARCHAR(200) NOT NULL, "
    "content TEXT NOT NULL, FULLTEXT INDEX ft_search_mroonga (title, content) "
    "COMMENT 'tokenizer \"TokenBigram\"') ENGINE=Mroonga "
    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci",
    "INSERT INTO search_mroonga (id, title, content) SELECT id, title, content FROM question",
    "CREATE TRIGGER search_question_insert AFTER INSERT ON question FOR EACH ROW "
    "REPLACE INTO search_mroonga (id, title, content) VALUES (NEW.id, NEW.title, NEW.content)",
    "CREATE TRIGGER search_question_update AFTER UPDATE ON question FOR EACH ROW "
    "REPLACE INTO search_mroonga (id, title, content) VALUES (NEW.id, NEW.title, NEW.content)",
    "CREATE TRIGGER search_question_delete AFTER DELETE ON question FOR EACH ROW "
    "DELETE FROM search_mroonga WHERE id = OLD.id",
]
MROONGA_DOWNGRADE = [
    "DROP TRIGGER IF EXISTS search_question_delete",
    "DROP TRIGGER IF EXISTS search_question_update",
    "DROP TRIGGER IF EXISTS search_question_insert",
    "DROP TABLE IF EXISTS search_mroonga",
]


def has_mroonga(bind):
    if context.is_offline_mode():
        # --sql writes the script for the recommended server; README, Search, says what to
        # leave out for one without Mroonga.
        return True
    return bind.exec_driver_sql(
        "SELECT COUNT(*) FROM information_schema.engines "
        "WHERE engine = 'Mroonga' AND support IN ('YES', 'DEFAULT')").scalar() > 0


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        statements = SQLITE_UPGRADE
    elif has_mroonga(bind):
        statements = MROONGA_UPGRADE
    else:
        logging.getLogger("alembic.runtime.migration").warning(
            "No Mroonga on this server: search reads every question (README, Search)")
        statements = []
    for statement in statements:
        op.execute(statement)


def downgrade():
    statements = SQLITE_DOWNGRADE if op.get_bind().dialect.name == "sqlite" else MROONGA_DOWNGRADE
    for statement in statements:
        op.execute(statement)
