"""MySQL/MariaDB online DDL: which ALTERs copy the table (blocking writes), for how many rows."""
# InnoDB does most changes INSTANT (metadata only) or INPLACE without blocking writes; a few
# rebuild the table with ALGORITHM=COPY, and every write waits until the copy ends (8 s for
# a 1M-row table here). ``classify`` says which, by the rules of MariaDB 10.4+ / MySQL 8.0
# (their "Online DDL operations" tables). Before any DDL, db upgrade refuses a copy of a table
# with more rows than MIGRATION_TABLE_COPY_ROWS unless --allow-table-copy is given; while it
# runs, every ALTER TABLE and CREATE INDEX on such a table asks for ``LOCK=NONE``, so that a
# change the rules misjudged fails at once instead of locking the table.

import re
import sys

import sqlalchemy as sa
from alembic.operations import ops

from migration_safety import conversions
from migration_safety.errors import SafetyError
from migration_safety.probes import plural

INSTANT, INPLACE, COPY = "instant", "inplace", "copy"

_ALTER = re.compile(r"^\s*(ALTER\s+TABLE|CREATE\s+(UNIQUE\s+)?INDEX)\s", re.IGNORECASE)
_TARGET = re.compile(r"^\s*(?:ALTER\s+TABLE\s+|CREATE\s+(?:UNIQUE\s+)?INDEX\s+\S+\s+ON\s+)"
                     r"`?([A-Za-z0-9_$]+)`?", re.IGNORECASE)
_HAS_LOCK = re.compile(r"\bLOCK\s*=", re.IGNORECASE)


def _byte_class(type_, dialect):
    """VARCHARs keep their length prefix (1 byte up to 255 bytes, else 2) when widened in
    place: crossing 255 bytes (utf8mb4: 63 characters) rebuilds."""
    length = conversions.string_length(type_)
    return None if length is None else (length * 4 > 255)


def classify(op, dialect):
    """(INSTANT | INPLACE | COPY, why) for an operation on an existing MySQL table, or None
    when the operation does not alter an existing table."""
    if isinstance(op, ops.AddColumnOp):
        return INSTANT, "adds a column"
    if isinstance(op, ops.DropColumnOp):
        return INSTANT, "drops a column"
    if isinstance(op, (ops.CreateIndexOp, ops.CreateUniqueConstraintOp)):
        return INPLACE, "builds an index while writes go on"
    if isinstance(op, (ops.DropIndexOp, ops.DropConstraintOp)):
        return INPLACE, "drops an index or constraint"
    if isinstance(op, ops.RenameTableOp):
        return INSTANT, "renames the table"
    if isinstance(op, ops.CreateForeignKeyOp):
        # With foreign_key_checks on (always, for a migration) InnoDB copies the table.
        return COPY, "adds a foreign key, which InnoDB checks by copying the table"
    if isinstance(op, ops.CreateCheckConstraintOp):
        return COPY, "adds a CHECK constraint, which is checked by copying the table"
    if isinstance(op, ops.AlterColumnOp):
        if op.modify_type is not None:
            old, new = op.existing_type, op.modify_type
            old_length = conversions.string_length(old) if old is not None else None
            new_length = conversions.string_length(new)
            if (old_length is not None and new_length is not None and new_length >= old_length
                    and _byte_class(old, dialect) == _byte_class(new, dialect)):
                return INSTANT, "widens a VARCHAR"
            return COPY, "changes a column's type, which copies the table"
        if op.modify_nullable is not None:
            return INPLACE, "changes NULL/NOT NULL, rebuilding the table while writes go on"
        return INSTANT, "renames a column or changes its default"
    return None


class OnlineDDL:
    """Follows the plan's operations on MySQL: the table copies and the tables they block."""

    def __init__(self, live, threshold=None):
        self.live = live
        self.mysql = conversions.is_mysql(live.dialect)
        self.threshold = threshold
        self.copies = []  # (label, table, rows, why)
        self.large = set()  # tables above the threshold: their ALTERs get LOCK=NONE
        self._rows = {}

    def rows(self, table):
        if table not in self._rows:
            self._rows[table] = self.live.row_count(table)
        return self._rows[table]

    def follow(self, op, table_state, label):
        if not self.mysql or table_state is None or table_state.origin is None:
            return
        if getattr(table_state, "rows", None) == "empty":
            return
        found = classify(op, self.live.dialect)
        if found is None:
            return
        algorithm, why = found
        rows = self.rows(table_state.origin)
        if self.threshold is not None and rows > self.threshold:
            self.large.add(table_state.origin)
        if algorithm == COPY and rows:
            self.copies.append((label, op.table_name if hasattr(op, "table_name")
                                else op.source_table, rows, why))

    def enforce(self, options, direction):
        """Print which statements block writes; refuse copies of large tables unless allowed."""
        if options.allow_table_copy:
            self.large.clear()  # the user accepts that writes wait: no LOCK=NONE either
        if not self.copies:
            return
        too_large = [c for c in self.copies
                     if self.threshold is not None and c[2] > self.threshold]
        if too_large and not options.allow_table_copy:
            flag = options.hint("--allow-table-copy", "-x allow-table-copy")
            lines = [f"{direction} refused: these changes copy a table, and every write to it "
                     "waits until the copy ends. Nothing was changed."]
            lines += [f"  - {label}: {why}: blocks writes to {table} ({plural(rows, 'row')})"
                      for label, table, rows, why in too_large]
            lines.append(f"Tables above MIGRATION_TABLE_COPY_ROWS ({self.threshold} rows) are "
                         f"copied only with {flag}: run it when writes may wait, or change "
                         "the table another way (a new column and a backfill).")
            raise SafetyError("\n".join(lines))
        for label, table, rows, why in self.copies:
            print(f"Note: {label}: {why}: blocks writes to {table} ({plural(rows, 'row')}) "
                  "until it finishes", file=sys.stderr)
        # Allowed copies run without LOCK=NONE.
        for _, table, _, _ in self.copies:
            self.large.discard(table)


def lock_none_listener(large_tables):
    """A ``before_cursor_execute`` listener (retval=True) that asks for LOCK=NONE on every
    ALTER TABLE / CREATE INDEX of the tables ``large_tables()`` names: MySQL then refuses at
    once what it could only do by blocking writes."""

    def listener(conn, cursor, statement, parameters, context, executemany):
        if _ALTER.match(statement) and not _HAS_LOCK.search(statement):
            target = _TARGET.match(statement)
            tables = {name.lower() for name in large_tables()}
            if target and target.group(1).lower() in tables:
                statement = statement.rstrip().rstrip(";") + \
                    (", LOCK=NONE" if statement.lstrip().upper().startswith("ALTER")
                     else " LOCK=NONE")
        return statement, parameters

    return listener


def attach(connection, large_tables):
    """Install the LOCK=NONE listener on *connection* (for the tables ``large_tables()``
    names); returns a function that removes it."""
    if not conversions.is_mysql(connection.dialect):
        return lambda: None
    listener = lock_none_listener(large_tables)
    sa.event.listen(connection, "before_cursor_execute", listener, retval=True)
    return lambda: sa.event.remove(connection, "before_cursor_execute", listener)
