"""What an accepted loss keeps in the database, and how the reverse run puts it back exactly."""
# ``--allow-data-loss`` never destroys without keeping: before the revision's DDL, the rows of a
# dropped table, the key and values of a dropped column, and the original values of cells a
# narrowing or type change would alter are copied into a table of their own
# (``alembic_keep_<revision>_<n>``, listed in ``alembic_keep``). Running the same revision the
# other way (the downgrade of an upgrade that dropped, say) puts them back and removes the keep.
# On SQLite the keep is made in the revision's own transaction; on MySQL, whose DDL commits
# itself, just before the revision's first statement.

import datetime
import logging

import sqlalchemy as sa
from alembic.operations import MigrateOperation, Operations
from alembic.autogenerate import renderers

from migration_safety.names import KEEP_PREFIX, KEEP_REGISTRY
from migration_safety.units import unfinished

log = logging.getLogger(__name__)

TABLE, COLUMN, CELLS = "table", "column", "cells"

_registry = sa.Table(
    KEEP_REGISTRY, sa.MetaData(),
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("revision", sa.String(32), nullable=False),
    # The run that kept it: the opposite run of the same revision restores it.
    sa.Column("direction", sa.String(9), nullable=False),
    sa.Column("kind", sa.String(8), nullable=False),
    sa.Column("source_table", sa.String(64), nullable=False),
    sa.Column("columns", sa.Text, nullable=False),
    sa.Column("key_columns", sa.Text, nullable=False),
    sa.Column("row_count", sa.Integer, nullable=False),
    sa.Column("created_at", sa.DateTime, nullable=False),
    mysql_engine="InnoDB", mysql_charset="utf8mb4", mysql_collate="utf8mb4_unicode_ci",
)


def _now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def opposite(direction):
    return "downgrade" if direction == "upgrade" else "upgrade"


class Kept:
    """One row of the registry."""

    def __init__(self, row):
        self.name = row.name
        self.revision = row.revision
        self.direction = row.direction
        self.kind = row.kind
        self.table = row.source_table
        self.columns = [c for c in row.columns.split(",") if c]
        self.keys = [c for c in row.key_columns.split(",") if c]
        self.rows = row.row_count
        self.created_at = row.created_at

    def what(self):
        if self.kind == TABLE:
            return f"table {self.table}"
        if self.kind == COLUMN:
            return f"column {self.table}.{', '.join(self.columns)}"
        return f"original values of {self.table}.{', '.join(self.columns)}"


class Keeper:
    """Keeps and restores on one connection."""

    def __init__(self, connection):
        self.connection = connection
        self.dialect = connection.dialect
        self.quote = connection.dialect.identifier_preparer.quote

    def _has_registry(self):
        return sa.inspect(self.connection).has_table(KEEP_REGISTRY)

    def entries(self, revision=None, direction=None):
        if not self._has_registry():
            return []
        query = _registry.select().order_by(_registry.c.created_at, _registry.c.name)
        if revision is not None:
            query = query.where(_registry.c.revision == revision)
        if direction is not None:
            query = query.where(_registry.c.direction == direction)
        return [Kept(row) for row in self.connection.execute(query)]

    def keep(self, revision, direction, kind, table, columns, keys, where=None):
        """Copy what is about to be lost; returns the keep's name (None when nothing to keep).

        *where* is a SQL condition choosing the rows (cells whose values change).
        """
        if not self._has_registry():
            _registry.create(self.connection)
        resuming = any((record.revision, record.direction) == (revision, direction)
                       for record in unfinished(self.connection))
        for entry in self.entries(revision, direction):
            # A run resumed after a failure (MySQL) finds its keep already made, holding the
            # values as they were before the failed run changed any.
            if resuming and (entry.kind, entry.table, entry.columns) == (kind, table,
                                                                         list(columns)):
                return entry.name
        taken = {e.name for e in self.entries()}
        number = 1
        while f"{KEEP_PREFIX}{revision[:24]}_{number}" in taken:
            number += 1
        name = f"{KEEP_PREFIX}{revision[:24]}_{number}"
        q = self.quote
        # The keep has the columns' own types (SQLite's CREATE TABLE ... AS SELECT would
        # declare NUM for a DATETIME), without their constraints.
        source = {c["name"]: c for c in sa.inspect(self.connection).get_columns(table)}
        names = list(source) if kind == TABLE else list(dict.fromkeys([*keys, *columns]))
        sa.Table(name, sa.MetaData(),
                 *(sa.Column(n, source[n]["type"], nullable=True) for n in names),
                 mysql_engine="InnoDB", mysql_charset="utf8mb4",
                 mysql_collate="utf8mb4_unicode_ci").create(self.connection)
        listed = ", ".join(q(n) for n in names)
        condition = f" WHERE {where}" if where else ""
        self.connection.exec_driver_sql(
            f"INSERT INTO {q(name)} ({listed}) SELECT {listed} FROM {q(table)}{condition}")
        rows = self.connection.execute(
            sa.select(sa.func.count()).select_from(sa.table(name))).scalar()
        self.connection.execute(_registry.insert().values(
            name=name, revision=revision, direction=direction, kind=kind, source_table=table,
            columns=",".join(columns), key_columns=",".join(keys), row_count=rows,
            created_at=_now()))
        log.info("Kept %s row(s) of %s in table %s until the %s of revision %s", rows, table,
                 name, opposite(direction), revision)
        return name

    def restore(self, revision, direction, table=None, columns=None):
        """Put back what the opposite run of *revision* kept (only for *table*/*columns* when
        given); returns the entries restored. An entry whose table or columns do not exist
        (yet) stays kept."""
        restored = []
        entries = self.entries(revision, opposite(direction))
        # Tables first, parents before children (kept in drop order: children first).
        entries.sort(key=lambda e: (e.kind != TABLE, 0))
        tables = [e for e in entries if e.kind == TABLE][::-1]
        others = [e for e in entries if e.kind != TABLE][::-1]
        for entry in tables + others:
            if table is not None and entry.table != table:
                continue
            if columns is not None and entry.kind != TABLE and set(entry.columns) != set(columns):
                continue
            if self._restore(entry):
                restored.append(entry)
        return restored

    def _current_columns(self, table):
        inspector = sa.inspect(self.connection)
        if not inspector.has_table(table):
            return None
        return [c["name"] for c in inspector.get_columns(table)]

    def _restore(self, entry):
        present = self._current_columns(entry.table)
        kept_columns = self._current_columns(entry.name) or []
        if present is None or not set(entry.columns + entry.keys) <= set(present):
            log.warning("Not restored yet: %s (kept in %s) — the table or column is not "
                        "there after this run", entry.what(), entry.name)
            return False
        q = self.quote
        mysql = self.dialect.name in ("mysql", "mariadb")
        if mysql:
            self.connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 0")
        try:
            if entry.kind == TABLE:
                names = [c for c in kept_columns if c in present]
                listed = ", ".join(q(c) for c in names)
                keys = [k for k in sa.inspect(self.connection).get_pk_constraint(entry.table)[
                    "constrained_columns"] if k in names]
                # Rows the re-created table already has (a revision that inserts its own
                # defaults) stay as they are; the kept rows fill in around them.
                absent = ""
                if keys:
                    match = " AND ".join(f"present.{q(k)} = kept.{q(k)}" for k in keys)
                    absent = (f" WHERE NOT EXISTS (SELECT 1 FROM {q(entry.table)} present "
                              f"WHERE {match})")
                elif self.connection.execute(sa.select(sa.func.count()).select_from(
                        sa.table(entry.table))).scalar():
                    # Without a key, rows the run inserted itself cannot be told from kept
                    # ones: put nothing back rather than twice. The keep stays listed.
                    log.warning("Not restored: %s (kept in %s) — the re-created table already "
                                "has rows and no primary key to match them by", entry.what(),
                                entry.name)
                    return False
                selected = ", ".join(f"kept.{q(c)}" for c in names)
                self.connection.exec_driver_sql(
                    f"INSERT INTO {q(entry.table)} ({listed}) SELECT {selected} FROM "
                    f"{q(entry.name)} kept{absent}")
            else:
                target = sa.table(entry.table, *(sa.column(c) for c in entry.keys + entry.columns))
                kept = sa.table(entry.name, *(sa.column(c) for c in entry.keys + entry.columns)
                                ).alias("kept")
                match = sa.and_(*(kept.c[k] == target.c[k] for k in entry.keys))
                values = {c: sa.select(kept.c[c]).where(match).scalar_subquery()
                          for c in entry.columns}
                self.connection.execute(
                    target.update().values(values).where(sa.exists().where(match)))
        finally:
            if mysql:
                self.connection.exec_driver_sql("SET FOREIGN_KEY_CHECKS = 1")
        self._drop(entry)
        log.info("Restored %s (%s row(s)) from %s", entry.what(), entry.rows, entry.name)
        return True

    def _drop(self, entry):
        self.connection.exec_driver_sql(f"DROP TABLE {self.quote(entry.name)}")
        self.connection.execute(_registry.delete().where(_registry.c.name == entry.name))
        if not self.entries():
            _registry.drop(self.connection)

    def uncovered_rows(self, revision, direction, table, column):
        """Rows of *table* that the keep of *column* (made by the opposite run) has no value
        for; None when there is no such keep."""
        for entry in self.entries(revision, opposite(direction)):
            if entry.table == table and column in entry.columns and entry.kind != TABLE:
                target = sa.table(table, *(sa.column(k) for k in entry.keys))
                kept = sa.table(entry.name, *(sa.column(k) for k in entry.keys)).alias("kept")
                match = sa.and_(*(kept.c[k] == target.c[k] for k in entry.keys))
                return self.connection.execute(
                    sa.select(sa.func.count()).select_from(target)
                    .where(~sa.exists().where(match))).scalar()
        return None

    def size(self, entry):
        """Bytes the keep takes, or None where the backend does not say."""
        if self.dialect.name in ("mysql", "mariadb"):
            return self.connection.execute(sa.text(
                "SELECT data_length + index_length FROM information_schema.tables "
                "WHERE table_schema = DATABASE() AND table_name = :name"),
                {"name": entry.name}).scalar()
        try:
            return self.connection.execute(sa.text(
                "SELECT SUM(pgsize) FROM dbstat WHERE name = :name"), {"name": entry.name}
            ).scalar()
        except sa.exc.OperationalError:  # SQLite built without the dbstat table
            return None

    def purge(self, older_than=None):
        """Remove keeps made before *older_than* (a datetime; None: all); returns them."""
        removed = []
        for entry in self.entries():
            if older_than is None or entry.created_at < older_than:
                self._drop(entry)
                removed.append(entry)
        return removed


@Operations.register_operation("restore_kept")
class RestoreKeptOp(MigrateOperation):
    """Put back the values an accepted loss kept for *revision* (no-op when none were)."""

    def __init__(self, table_name, columns=None, revision=None):
        self.table_name = table_name
        self.columns = list(columns) if columns else None
        self.revision = revision

    @classmethod
    def restore_kept(cls, operations, table_name, columns=None, revision=None):
        """``op.restore_kept('question', ['title'], revision='...')`` in a downgrade."""
        return operations.invoke(cls(table_name, columns, revision))

    def reverse(self):
        raise NotImplementedError("restore_kept has no reverse")

    def to_diff_tuple(self):
        return ("restore_kept", self.table_name, self.columns)


@Operations.implementation_for(RestoreKeptOp)
def _restore_kept(operations, operation):
    connection = operations.migration_context.connection
    if connection is None or operations.migration_context.as_sql:
        return
    Keeper(connection).restore(operation.revision, "downgrade", operation.table_name,
                               operation.columns)


@renderers.dispatch_for(RestoreKeptOp, replace=True)
def _render_restore_kept(autogen_context, op):
    columns = f", {op.columns!r}" if op.columns else ""
    return (f"# Puts back the values 'db upgrade --allow-data-loss' kept, if it did.\n"
            f"op.restore_kept({op.table_name!r}{columns}, revision={op.revision!r})")
