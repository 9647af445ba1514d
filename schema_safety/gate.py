"""The data-aware gate of db upgrade/downgrade: dry-run pending revisions, check the data."""
import inspect
import sys
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.operations import ops
from alembic.runtime.migration import RevisionStep

from schema_safety.describe import index_columns, string_length, type_name
from schema_safety.errors import SafetyError
from schema_safety.options import Options
from schema_safety.recorder import DataChange, dry_run, written_table

# What is known about a column's values at a point of the plan.
LIVE = "live"  # as in the database now: ask it
NULL = "null"  # added by a pending step with no default: NULL in every existing row
FILLED = "filled"  # added with a server default, or filled by a pending step: no NULLs
UNKNOWN = "unknown"  # changed by a pending step in a way the gate cannot follow

# What is known about a table's rows.
EMPTY = "empty"  # created by a pending step

# Finding kinds. --allow-data-loss accepts the first three; the others need the data fixed.
DROP_TABLE, DROP_COLUMN, NARROW = "drop table", "drop column", "narrow"
NOT_NULL, UNIQUE = "not null", "unique"
LOSS_KINDS = (DROP_TABLE, DROP_COLUMN, NARROW)

SAMPLE = 5  # row ids or values shown per finding


def install_gate(env_context):
    """Make the next ``context.run_migrations()`` check its pending revisions first.

    The check runs when run_migrations asks for its steps, so it uses the revisions that
    run will apply, on its connection, inside whatever lock or transaction surrounds it,
    and before the first step's DDL.
    """
    migration_context = env_context.get_context()
    original = migration_context._migrations_fn
    if migration_context.as_sql or original is None:
        return
    options = Options.from_config(env_context.config)

    def gated(heads, context):
        steps = list(original(heads, context))
        revision_steps = [step for step in steps if isinstance(step, RevisionStep)]
        if revision_steps:
            plan = Plan(context, revision_steps)
            plan.build()
            plan.enforce(options)
        return steps

    migration_context._migrations_fn = gated


def _plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def _rows_hold(count):
    return f"{_plural(count, 'row')} {'holds' if count == 1 else 'hold'}"


def _step_label(step):
    revision = step.revision
    doc = f" ({revision.doc})" if revision.doc else ""
    if step.is_upgrade:
        return f"upgrade to {revision.revision}{doc}"
    return f"downgrade of {revision.revision}{doc}"


@dataclass
class Column:
    origin: str | None  # its name in the database now, None if a pending step adds it
    values: str


@dataclass
class Table:
    origin: str | None
    rows: str  # LIVE, EMPTY or UNKNOWN
    columns: dict = field(default_factory=dict)
    touched: bool = False  # a pending step changed its data: the database's answers are stale


@dataclass
class Finding:
    kind: str
    step_index: int
    text: str
    count: int
    truncate: tuple | None = None  # (table, column, length) as named when its step starts
    fix: str = ""  # how to fix the data, for the kinds --allow-data-loss does not cover
    destroys: str = ""  # what --allow-data-loss destroys, for the kinds it covers

    @property
    def accepted_by_flag(self):
        return self.kind in LOSS_KINDS


class LiveData:
    """Questions about the rows in the database now, on the migration's connection."""

    def __init__(self, connection):
        self.connection = connection
        self.dialect = connection.dialect
        self.inspector = sa.inspect(connection)

    def _source(self, table, *columns):
        """*table* with *columns*, and its primary key when that is one column."""
        try:
            keys = self.inspector.get_pk_constraint(table)["constrained_columns"]
        except sa.exc.NoSuchTableError:
            keys = []
        key = keys[0] if len(keys) == 1 else None
        names = list(dict.fromkeys([*columns, *([key] if key else [])]))
        source = sa.table(table, *(sa.column(name) for name in names))
        source.key_name = key
        return source

    def _scalar(self, query):
        return self.connection.execute(query).scalar() or 0

    def _ids(self, source, condition):
        """Up to SAMPLE primary key values of the rows matching *condition*, as text."""
        if source.key_name is None:
            return "rows"
        key = source.c[source.key_name]
        rows = self.connection.execute(
            sa.select(key).select_from(source).where(condition).order_by(key).limit(SAMPLE + 1)
        ).scalars().all()
        shown = ", ".join(str(value) for value in rows[:SAMPLE])
        more = ", ..." if len(rows) > SAMPLE else ""
        return f"{source.key_name} {shown}{more}"

    def row_count(self, table):
        return self._scalar(sa.select(sa.func.count()).select_from(sa.table(table)))

    def non_null_count(self, table, column):
        source = self._source(table, column)
        return self._scalar(sa.select(sa.func.count()).select_from(source)
                            .where(source.c[column].is_not(None)))

    def nulls(self, table, column):
        source = self._source(table, column)
        is_null = source.c[column].is_(None)
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(is_null))
        return count, (self._ids(source, is_null) if count else "")

    def char_length(self, column):
        # SQLite's length() counts characters; MySQL's counts bytes, char_length characters.
        if self.dialect.name == "sqlite":
            return sa.func.length(column)
        return sa.func.char_length(column)

    def longer_than(self, table, column, length):
        """(rows whose value is longer than *length*, the longest length, sample ids)."""
        source = self._source(table, column)
        col = source.c[column]
        too_long = self.char_length(col) > length
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(too_long))
        if not count:
            return 0, 0, ""
        longest = self._scalar(sa.select(sa.func.max(self.char_length(col))).select_from(source))
        return count, longest, self._ids(source, too_long)

    def duplicates(self, table, columns):
        """(rows that share their values with another row, sample values)."""
        cols = [sa.column(c) for c in columns]
        source = sa.table(table, *cols)
        groups = (
            sa.select(*cols, sa.func.count().label("n")).select_from(source)
            .where(*(c.is_not(None) for c in cols))
            .group_by(*cols).having(sa.func.count() > 1)
        ).subquery()
        count = self._scalar(sa.select(sa.func.sum(groups.c.n)))
        if not count:
            return 0, ""
        sample = self.connection.execute(
            sa.select(*(groups.c[c] for c in columns)).limit(SAMPLE)
        ).all()
        values = ", ".join(
            repr(row[0]) if len(row) == 1 else repr(tuple(row)) for row in sample
        )
        return int(count), values


class Plan:
    """What the pending steps will do, followed operation by operation over the live schema."""

    def __init__(self, context, steps):
        self.context = context
        self.steps = steps
        self.live = LiveData(context.connection)
        self.findings = []
        self.notes = []
        self.tables = {}
        self.start_names = []  # per step: {(origin table, origin column): (table, column)}
        self.direction = "db upgrade" if steps[0].is_upgrade else "db downgrade"

    # -- building -------------------------------------------------------------------------

    def build(self):
        version_table = self.context.version_table
        for name in self.live.inspector.get_table_names():
            if name == version_table:
                continue
            columns = {c["name"]: Column(c["name"], LIVE)
                       for c in self.live.inspector.get_columns(name)}
            self.tables[name] = Table(name, LIVE, columns)

        for index, step in enumerate(self.steps):
            self.start_names.append(self._names_now())
            label = _step_label(step)
            try:
                # The bare revision function: wrappers that do bookkeeping for real runs
                # (migrating/steps.py) must not count a dry run as one.
                recorded = dry_run(inspect.unwrap(step.migration_fn), self.context)
            except SafetyError:
                raise
            except Exception as exc:
                raise SafetyError(
                    f"{self.direction} refused: could not work out what the {label} does "
                    f"without running it ({type(exc).__name__}: {exc}). Nothing was changed."
                ) from exc
            for operation in recorded:
                self._follow(operation, index, label)

    def _names_now(self):
        names = {}
        for table_name, table in self.tables.items():
            if table.origin is None:
                continue
            for column_name, column in table.columns.items():
                if column.origin is not None:
                    names[(table.origin, column.origin)] = (table_name, column_name)
        return names

    def _find(self, kind, index, label, text, count, truncate=None, fix="", destroys=""):
        self.findings.append(Finding(kind, index, f"{label}: {text}", count, truncate, fix,
                                     f"{label}: {destroys}"))

    def _note(self, label, text):
        self.notes.append(f"{label}: {text}")

    def _queryable(self, table):
        """True when the database's answers about *table* hold at this point of the plan."""
        return table.origin is not None and table.rows == LIVE and not table.touched

    def _follow(self, op, index, label):
        if isinstance(op, DataChange):
            self._data_changed(op.table)
        elif isinstance(op, ops.ExecuteSQLOp):
            self._executed(op.sqltext)
        elif isinstance(op, ops.BulkInsertOp):
            self._data_changed(getattr(op.table, "name", None))
        elif isinstance(op, ops.CreateTableOp):
            columns = {c.name: Column(None, NULL)
                       for c in op.columns if isinstance(c, sa.Column)}
            self.tables[op.table_name] = Table(None, EMPTY, columns)
        elif isinstance(op, ops.RenameTableOp):
            if op.table_name in self.tables:
                self.tables[op.new_table_name] = self.tables.pop(op.table_name)
        elif isinstance(op, ops.DropTableOp):
            self._drop_table(op, index, label)
        elif isinstance(op, ops.AddColumnOp):
            self._add_column(op, index, label)
        elif isinstance(op, ops.DropColumnOp):
            self._drop_column(op, index, label)
        elif isinstance(op, ops.AlterColumnOp):
            self._alter_column(op, index, label)
        elif isinstance(op, ops.CreateIndexOp) and op.unique:
            self._unique(op, "unique index", op.index_name, index, label)
        elif isinstance(op, ops.CreateUniqueConstraintOp):
            self._unique(op, "unique constraint", op.constraint_name, index, label)

    def _executed(self, statement):
        table_name = written_table(statement)
        table = self.tables.get(table_name)
        values = getattr(statement, "_values", None)
        if not (isinstance(statement, sa.sql.Update) and table is not None and values):
            self._data_changed(table_name)
            return
        # An UPDATE the gate can read changes only the columns it sets: the rows, and the
        # other columns' values, are still as the database says.
        where = statement.whereclause
        for key, value in values.items():
            name = key if isinstance(key, str) else getattr(key, "key", None)
            column = table.columns.get(name)
            if column is None:
                continue
            sets_a_value = not (value is None or isinstance(value, sa.sql.elements.Null) or (
                isinstance(value, sa.sql.elements.BindParameter) and value.value is None))
            # UPDATE t SET c = <value> [WHERE c IS NULL] leaves no NULL in c: the NOT NULL
            # assistant's fill, or a script fixing NULLs before making a column NOT NULL.
            if sets_a_value and (where is None or _is_null_test(where, name)):
                column.values = FILLED
            else:
                column.values = UNKNOWN

    def _data_changed(self, table_name):
        targets = [self.tables[table_name]] if table_name in self.tables else (
            list(self.tables.values()) if table_name is None else [])
        for table in targets:
            table.touched = True
            if table.rows == EMPTY:
                table.rows = UNKNOWN
            for column in table.columns.values():
                if column.values == NULL:
                    column.values = UNKNOWN

    def _drop_table(self, op, index, label):
        table = self.tables.pop(op.table_name, None)
        if table is None or table.rows == EMPTY:
            return
        if not self._queryable(table):
            self._note(label, f"drop of table {op.table_name} not checked: a pending step "
                              "changes its data first")
            return
        count = self.live.row_count(table.origin)
        if count:
            rows = _plural(count, "row")
            self._find(DROP_TABLE, index, label,
                       f"drops table {op.table_name}, which holds {rows}", count,
                       destroys=f"drops table {op.table_name} and its {rows}")

    def _add_column(self, op, index, label):
        table = self.tables.get(op.table_name)
        if table is None:
            return
        column = op.column
        has_default = column.server_default is not None or column.computed is not None
        table.columns[column.name] = Column(None, FILLED if has_default else NULL)
        if column.nullable is False and not has_default and not column.primary_key:
            self._no_value_for_existing_rows(table, op.table_name, column.name, index, label,
                                             f"adds {op.table_name}.{column.name} as NOT NULL")

    def _no_value_for_existing_rows(self, table, table_name, column_name, index, label, doing):
        if table.rows == EMPTY:
            return
        if not self._queryable(table):
            self._note(label, f"{table_name}.{column_name}: NOT NULL not checked: a pending "
                              "step changes the table's data first")
            return
        count = self.live.row_count(table.origin)
        if count:
            self._find(NOT_NULL, index, label,
                       f"{doing} with no value for the {_plural(count, 'existing row')}", count,
                       fix="the script must give existing rows a value: add server_default=... "
                           "there, or add the column as nullable, fill it, then make it NOT "
                           "NULL (db migrate writes that when it asks for a value)")

    def _drop_column(self, op, index, label):
        table = self.tables.get(op.table_name)
        if table is None:
            return
        column = table.columns.pop(op.column_name, None)
        if column is None or column.values == NULL or table.rows == EMPTY:
            return
        name = f"{op.table_name}.{op.column_name}"
        if not self._queryable(table):
            self._note(label, f"drop of column {name} not checked: a pending step changes "
                              "the table's data first")
            return
        if column.values == LIVE:
            count = self.live.non_null_count(table.origin, column.origin)
            values = _plural(count, "non-null value")
        else:  # FILLED by a default in an earlier pending step: every row holds a value
            count = self.live.row_count(table.origin)
            values = _plural(count, "value")
        if count:
            self._find(DROP_COLUMN, index, label,
                       f"drops column {name}, which holds {values}", count,
                       destroys=f"drops column {name} and its {values}")

    def _alter_column(self, op, index, label):
        table = self.tables.get(op.table_name)
        column = table.columns.get(op.column_name) if table else None
        if column is None:
            return
        name = f"{op.table_name}.{op.column_name}"
        length = string_length(op.modify_type) if op.modify_type is not None else None
        if length is not None and column.values != NULL and table.rows != EMPTY:
            if column.values == LIVE and self._queryable(table):
                count, longest, ids = self.live.longer_than(table.origin, column.origin, length)
                if count:
                    start = self.start_names[index].get((table.origin, column.origin))
                    new_type = type_name(op.modify_type, self.live.dialect)
                    self._find(
                        NARROW, index, label,
                        f"narrows {name} to {new_type}, but {_rows_hold(count)} longer values "
                        f"(longest: {longest} characters; {ids})",
                        count, truncate=(*start, length) if start else None,
                        destroys=f"cuts {_plural(count, 'value')} of {name} to {length} "
                                 f"characters, then narrows it to {new_type} "
                                 f"(longest now: {longest} characters; {ids})",
                    )
            else:
                self._note(label, f"narrowing of {name} not checked: a pending step changes "
                                  "its values first")
        if op.modify_nullable is False:
            if column.values == NULL:
                self._no_value_for_existing_rows(table, op.table_name, op.column_name, index,
                                                 label, f"makes {name} NOT NULL")
            elif column.values == UNKNOWN:
                self._note(label, f"NOT NULL on {name} not checked: a pending step changes "
                                  "its values first")
            elif column.values == LIVE and table.rows != EMPTY:
                if self._queryable(table):
                    count, ids = self.live.nulls(table.origin, column.origin)
                    if count:
                        self._find(NOT_NULL, index, label,
                                   f"makes {name} NOT NULL, but {_rows_hold(count)} NULL "
                                   f"there ({ids})", count,
                                   fix=f"fill in or delete the rows where {name} is NULL")
                else:
                    self._note(label, f"NOT NULL on {name} not checked: a pending step "
                                      "changes the table's data first")
        if op.modify_name is not None:
            table.columns[op.modify_name] = table.columns.pop(op.column_name)

    def _unique(self, op, what, constraint_name, index, label):
        table = self.tables.get(op.table_name)
        if table is None or table.rows == EMPTY:
            return
        names = index_columns(op)
        text = f"{what} {constraint_name} on {op.table_name}"
        columns = [table.columns.get(name) for name in names or []]
        if names is None or None in columns:
            self._note(label, f"{text} not checked: it indexes an expression")
            return
        if any(column.values == NULL for column in columns):
            return  # NULLs never collide in a unique index
        if not self._queryable(table) or any(c.values != LIVE for c in columns):
            self._note(label, f"{text} not checked: a pending step changes its values first")
            return
        count, values = self.live.duplicates(table.origin, [c.origin for c in columns])
        if count:
            self._find(UNIQUE, index, label,
                       f"adds {text} ({', '.join(names)}), but {_plural(count, 'row')} "
                       f"{'shares its' if count == 1 else 'share their'} values with another "
                       f"row (duplicated: {values})", count,
                       fix="change or delete the duplicated rows")

    # -- deciding -------------------------------------------------------------------------

    def enforce(self, options):
        """Refuse (SafetyError), or print what will be destroyed and prepare the steps."""
        out = sys.stderr
        for note in self.notes:
            print(f"Note: {note}", file=out)
        if not self.findings:
            return
        blockers = [f for f in self.findings if not f.accepted_by_flag]
        losses = [f for f in self.findings if f.accepted_by_flag]
        if blockers or not options.allow_data_loss:
            raise SafetyError(self._refusal(blockers, losses, options))

        print(f"{self.direction} --allow-data-loss: destroying existing data:", file=out)
        for finding in losses:
            print(f"  - {finding.destroys}", file=out)
        out.flush()
        self._prepare_truncations(losses)

    def _refusal(self, blockers, losses, options):
        lines = [f"{self.direction} refused: it would destroy or break existing data. "
                 "Nothing was changed."]
        for finding in self.findings:
            lines.append(f"  - {finding.text}")
            if finding.fix:
                lines.append(f"    to fix: {finding.fix}")
        flag = options.hint("--allow-data-loss", "-x allow-data-loss")
        if blockers:
            lines.append(f"Fix those marked 'to fix' first, then run {self.direction} again: "
                         f"{flag} does not cover them.")
            if losses:
                lines.append(f"The other operations destroy data: they also need {flag}.")
        else:
            lines.append(f"To destroy the data listed above and go on, run again with {flag}.")
        return "\n".join(lines)

    def _prepare_truncations(self, losses):
        """Cut too-long values right before the step that narrows their column runs."""
        by_step = {}
        for finding in losses:
            if finding.kind == NARROW and finding.truncate:
                by_step.setdefault(finding.step_index, []).append(finding.truncate)
        for index, cuts in by_step.items():
            step = self.steps[index]
            step.migration_fn = _truncating(step.migration_fn, self.live, cuts)


def _is_null_test(where, name):
    """True when *where* is ``<name> IS NULL`` (qualified by its table or not)."""
    return (isinstance(where, sa.sql.elements.BinaryExpression)
            and where.operator is sa.sql.operators.is_
            and isinstance(where.right, sa.sql.elements.Null)
            and getattr(where.left, "name", None) == name)


def _truncating(migration_fn, live, cuts):
    def run(**kwargs):
        for table, column, length in cuts:
            col = sa.column(column)
            live.connection.execute(
                sa.table(table, col).update()
                .where(live.char_length(col) > length)
                .values({column: sa.func.substr(col, 1, length)})
            )
        return migration_fn(**kwargs)

    return run
