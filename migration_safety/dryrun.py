"""Dry runs: call a revision's upgrade() or downgrade() and record its operations, running none."""
import contextlib
import re

import sqlalchemy as sa
from alembic.operations import BatchOperations, Operations, ops

from migration_safety.names import is_ignored
from migration_safety.private import installed_op

_READ_ONLY_SQL = re.compile(r"^\s*(SELECT|WITH|SHOW|EXPLAIN|DESCRIBE)\b", re.IGNORECASE)
_WRITE_TARGET = re.compile(
    r"^\s*(?:UPDATE|INSERT\s+(?:IGNORE\s+|OR\s+\w+\s+)?INTO|REPLACE\s+INTO|DELETE\s+FROM)\s+"
    r"[`\"\[]?(\w+)",
    re.IGNORECASE,
)

# Statements that write no table's rows: triggers and views, and the tables migration safety
# ignores (names.py: a search index's own, say).
_NO_ROWS_SQL = re.compile(r"^\s*(?:CREATE|DROP)\s+(?:TRIGGER|VIEW)\b", re.IGNORECASE)
# ALTER TABLE t DROP INDEX a, ADD UNIQUE INDEX a (...): MySQL's way to replace an index.
_INDEXES_ONLY = re.compile(
    r"^\s*ALTER\s+TABLE\s+[`\"]?\w+[`\"]?\s+(?:(?:DROP|ADD(?:\s+UNIQUE)?)\s+INDEX\s+[`\"]?\w+"
    r"[`\"]?(?:\s*\([^)]*\))?\s*(?:,\s*|$))+$", re.IGNORECASE)
_TABLE_DDL = re.compile(
    r"^\s*(?:CREATE\s+(?:VIRTUAL\s+)?TABLE|DROP\s+TABLE)\s+(?:IF\s+(?:NOT\s+)?EXISTS\s+)?"
    r"[`\"\[]?(\w+)", re.IGNORECASE)


class DataChange:
    """A statement that changes data, recorded instead of run; *table* None when unknown."""

    def __init__(self, statement, table):
        self.statement = statement
        self.table = table


def written_table(statement):
    """The table an INSERT/UPDATE/DELETE writes to, or None when it cannot be told."""
    if isinstance(statement, (sa.sql.Update, sa.sql.Insert, sa.sql.Delete)):
        return getattr(statement.table, "name", None)
    text = statement if isinstance(statement, str) else getattr(statement, "text", None)
    if text:
        match = _WRITE_TARGET.match(text)
        if match:
            return match.group(1)
    return None


def changes_no_rows(statement):
    """True for SQL that leaves every model table's rows as they are (triggers, views, and
    writes to the tables names.is_ignored names)."""
    text = statement if isinstance(statement, str) else getattr(statement, "text", None)
    if not text:
        return False
    if _NO_ROWS_SQL.match(text) or _INDEXES_ONLY.match(text):
        return True
    match = _TABLE_DDL.match(text) or _WRITE_TARGET.match(text)
    return bool(match) and is_ignored(match.group(1))


def is_read_only(statement):
    if isinstance(statement, sa.sql.Select):
        return True
    text = statement if isinstance(statement, str) else getattr(statement, "text", None)
    return bool(text) and bool(_READ_ONLY_SQL.match(text))


class _ResultStandIn:
    """What a recorded (not run) statement returns: no rows, nothing changed."""

    rowcount = 0
    returns_rows = False

    def fetchall(self):
        return []

    def scalar(self):
        return None

    def __iter__(self):
        return iter(())


class _DryRunBind:
    """``op.get_bind()`` in a dry run: reads run for real, writes are recorded, not run."""

    def __init__(self, connection, recorded):
        self._connection = connection
        self._recorded = recorded

    def execute(self, statement, *args, **kwargs):
        if is_read_only(statement):
            return self._connection.execute(statement, *args, **kwargs)
        self._recorded.append(DataChange(statement, written_table(statement)))
        return _ResultStandIn()

    def exec_driver_sql(self, statement, *args, **kwargs):
        if is_read_only(statement):
            return self._connection.exec_driver_sql(statement, *args, **kwargs)
        self._recorded.append(DataChange(statement, written_table(statement)))
        return _ResultStandIn()

    def __getattr__(self, name):
        return getattr(self._connection, name)


class _BatchTarget:
    """The part of alembic's batch implementation that batch operations read."""

    def __init__(self, table_name, schema):
        self.table_name = table_name
        self.schema = schema


class _RecordingBatchOperations(BatchOperations):
    def __init__(self, migration_context, table_name, schema, pending, recorded):
        super().__init__(migration_context, impl=_BatchTarget(table_name, schema))
        self._pending = pending
        self._recorded = recorded

    def invoke(self, operation):
        if isinstance(operation, ops.ExecuteSQLOp):
            # batch_op.execute() runs at once, not when the batch ends.
            self._recorded.append(operation)
        else:
            self._pending.append(operation)

    def get_bind(self):
        connection = self.migration_context.connection
        return None if connection is None else _DryRunBind(connection, self._recorded)


class RecordingOperations(Operations):
    """Alembic's ``op`` for a dry run: every operation is recorded in order, none is run."""

    def __init__(self, migration_context):
        super().__init__(migration_context)
        self.recorded = []

    def invoke(self, operation):
        self.recorded.append(operation)
        if isinstance(operation, ops.CreateTableOp):
            # Scripts keep the Table that create_table returns for bulk_insert.
            return operation.to_table(self.migration_context)
        return None

    @contextlib.contextmanager
    def batch_alter_table(self, table_name, schema=None, **kwargs):
        # A batch runs its operations when the block ends, after anything the block ran
        # directly (op.execute inside it): record them in that order too.
        pending = []
        yield _RecordingBatchOperations(self.migration_context, table_name, schema, pending,
                                        self.recorded)
        self.recorded.extend(pending)

    def get_bind(self):
        connection = self.migration_context.connection
        if connection is None:
            return None
        return _DryRunBind(connection, self.recorded)


def dry_run(migration_fn, migration_context, **kwargs):
    """The operations (and DataChange records) *migration_fn* would run, in order."""
    operations = RecordingOperations(migration_context)
    with installed_op(operations):
        migration_fn(**kwargs)
    return operations.recorded
