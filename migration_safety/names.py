"""The tables migration safety keeps for itself, which autogenerate and db check ignore."""

# Exists only while a revision is unfinished on MySQL (units.py).
PROGRESS_TABLE = "alembic_progress"
# What an acknowledged loss kept, and one table per keep (keep.py).
KEEP_REGISTRY = "alembic_keep"
KEEP_PREFIX = "alembic_keep_"

# MariaDB's counter behind question.seq, kept by a trigger (migration 949dd11a1e1d).
QUESTION_COUNTER = "question_counter"
# The full-text search index: FTS5 and its shadow tables on SQLite, the Mroonga copy on
# MariaDB, kept by triggers (migration 9cd113545291), and on MariaDB a second copy of the
# newest questions, search_recent (migration ab061ce821c9).
SEARCH_PREFIX = "search_"

# The one list of tables autogenerate and db check leave alone: other bookkeeping (search
# shadow tables, say) belongs here too.
IGNORED_TABLES = {PROGRESS_TABLE, KEEP_REGISTRY, QUESTION_COUNTER}
IGNORED_PREFIXES = (KEEP_PREFIX, SEARCH_PREFIX)


def is_ignored(table_name):
    return table_name in IGNORED_TABLES or table_name.startswith(IGNORED_PREFIXES)


def is_safety_table(table_name):
    """Migration safety's own bookkeeping (keeps, the progress record), no revision's."""
    return table_name in (PROGRESS_TABLE, KEEP_REGISTRY) or table_name.startswith(KEEP_PREFIX)


def include_name(name, type_, parent_names):
    """``context.configure(include_name=...)``: hide the tables above from autogenerate."""
    return not (type_ == "table" and name is not None and is_ignored(name))
