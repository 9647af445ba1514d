"""The tables migration safety keeps for itself, which autogenerate and db check ignore."""

# Exists only while a revision is unfinished on MySQL (units.py).
PROGRESS_TABLE = "alembic_progress"
# What an acknowledged loss kept, and one table per keep (keep.py).
KEEP_REGISTRY = "alembic_keep"
KEEP_PREFIX = "alembic_keep_"

# The one list of tables autogenerate and db check leave alone: other bookkeeping (search
# shadow tables, say) belongs here too.
IGNORED_TABLES = {PROGRESS_TABLE, KEEP_REGISTRY}
IGNORED_PREFIXES = (KEEP_PREFIX,)


def is_ignored(table_name):
    return table_name in IGNORED_TABLES or table_name.startswith(IGNORED_PREFIXES)


def include_name(name, type_, parent_names):
    """``context.configure(include_name=...)``: hide the tables above from autogenerate."""
    return not (type_ == "table" and name is not None and is_ignored(name))
