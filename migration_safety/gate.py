"""The data gate of db upgrade/downgrade: dry-run pending revisions, ask the data of each risk."""
import sys
from dataclasses import dataclass, field

import sqlalchemy as sa
from alembic.operations import ops

from migration_safety import risks as R
from migration_safety.dryrun import DataChange, changes_no_rows, dry_run, written_table
from migration_safety.describe import describe
from migration_safety.errors import SafetyError
from migration_safety.errors import describe as describe_error
from migration_safety.keep import CELLS, COLUMN, TABLE, Keeper, RestoreKeptOp
from migration_safety.names import is_ignored
from migration_safety.online import OnlineDDL
from migration_safety.private import update_values
from migration_safety.probes import LiveData, plural

# What is known about a column's values at a point of the plan.
LIVE = "live"  # as in the database now: ask it
NULL = "null"  # added by a pending step with no default: NULL in every existing row
FILLED = "filled"  # added with a server default, or filled by a pending step: no NULLs
UNKNOWN = "unknown"  # changed by a pending step in a way the gate cannot follow
RESTORED = "restored"  # added NULL, then given back its kept values (keep.py)

# What is known about a table's rows.
EMPTY = "empty"  # created by a pending step


def _rows_hold(count):
    return f"{plural(count, 'row')} {'holds' if count == 1 else 'hold'}"


def step_label(step):
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
    kind: R.Kind
    step_index: int
    text: str
    count: int
    fix: str = ""
    destroys: str = ""  # what --allow-data-loss destroys (and keeps), for the kinds it covers
    # What to do first when the loss is accepted: ("cut", table, column, length),
    # ("null", table, column, new_type), and what to keep: (kind, table, columns, where).
    prepare: tuple | None = None
    keep: tuple | None = None


class Plan:
    """What the pending steps will do, followed operation by operation over the live schema."""

    def __init__(self, context, steps, functions):
        self.context = context
        self.steps = steps
        self.functions = functions  # the bare upgrade()/downgrade() of each step
        self.live = LiveData(context.connection)
        self.keeper = Keeper(context.connection)
        self.online = OnlineDDL(self.live)
        self.findings = []
        self.notes = []
        self.tables = {}
        self.start_names = []  # per step: {(origin table, origin column): (table, column)}
        self.start_tables = []  # per step: {origin table: table}
        self.direction = "db upgrade" if steps[0].is_upgrade else "db downgrade"

    # -- building -------------------------------------------------------------------------

    def build(self):
        version_table = self.context.version_table
        for name in self.live.inspector.get_table_names():
            if name == version_table or is_ignored(name):
                continue
            columns = {c["name"]: Column(c["name"], LIVE)
                       for c in self.live.inspector.get_columns(name)}
            self.tables[name] = Table(name, LIVE, columns)

        for index, (step, function) in enumerate(zip(self.steps, self.functions)):
            self.start_names.append(self._names_now())
            self.start_tables.append({t.origin: name for name, t in self.tables.items()
                                      if t.origin is not None})
            label = step_label(step)
            try:
                recorded = dry_run(function, self.context)
            except SafetyError:
                raise
            except Exception as exc:
                raise SafetyError(
                    f"{self.direction} refused: could not work out what the {label} does "
                    f"without running it ({type(exc).__name__}: {exc}). Nothing was changed."
                ) from exc
            for operation in recorded:
                try:
                    self._follow(operation, index, step, label)
                except SafetyError:
                    raise
                except Exception as exc:
                    # A check that cannot run refuses: nothing has been changed yet.
                    raise SafetyError(
                        f"{self.direction} refused: could not check what the {label} does "
                        f"({describe(operation, self.live.dialect)}): {type(exc).__name__}: "
                        f"{describe_error(exc)}. Nothing was changed.") from exc

    def _names_now(self):
        names = {}
        for table_name, table in self.tables.items():
            if table.origin is None:
                continue
            for column_name, column in table.columns.items():
                if column.origin is not None:
                    names[(table.origin, column.origin)] = (table_name, column_name)
        return names

    def _find(self, kind, index, label, text, count, destroys="", prepare=None, keep=None):
        fix = kind.fix
        self.findings.append(Finding(kind, index, f"{label}: {text}", count, fix,
                                     f"{label}: {destroys}", prepare, keep))

    def _note(self, label, text):
        self.notes.append(f"{label}: {text}")

    def _queryable(self, table):
        """True when the database's answers about *table* hold at this point of the plan."""
        return table.origin is not None and table.rows == LIVE and not table.touched

    def _follow(self, op, index, step, label):
        if isinstance(op, DataChange):
            if not changes_no_rows(op.statement):
                self._data_changed(op.table)
            return
        if isinstance(op, RestoreKeptOp):
            self._restored(op, step)
            return
        self.online.follow(op, self.tables.get(getattr(op, "table_name", None)), label)
        if isinstance(op, ops.ExecuteSQLOp):
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
        elif isinstance(op, (ops.CreateIndexOp, ops.CreateUniqueConstraintOp,
                             ops.CreateForeignKeyOp, ops.CreateCheckConstraintOp)):
            for risk in R.risks_of(op, self.live.dialect):
                if risk.kind is R.UNIQUE:
                    what = "unique index" if isinstance(op, ops.CreateIndexOp) else \
                        "unique constraint"
                    name = op.index_name if isinstance(op, ops.CreateIndexOp) else \
                        op.constraint_name
                    self._unique(op, what, name, index, label)
                elif risk.kind is R.FOREIGN_KEY:
                    self._foreign_key(op, index, label)
                elif risk.kind is R.CHECK:
                    self._check(op, index, label)

    def _executed(self, statement):
        if changes_no_rows(statement):
            return
        table_name = written_table(statement)
        table = self.tables.get(table_name)
        values = update_values(statement) if isinstance(statement, sa.sql.Update) else {}
        if not (table is not None and values):
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

    def _restored(self, op, step):
        table = self.tables.get(op.table_name)
        if table is None:
            return
        direction = "upgrade" if step.is_upgrade else "downgrade"
        for name in op.columns or []:
            column = table.columns.get(name)
            if column is None or column.values != NULL:
                continue
            uncovered = self.keeper.uncovered_rows(op.revision, direction, table.origin, name) \
                if table.origin is not None else None
            if uncovered is not None:
                column.values = RESTORED
                column.uncovered = uncovered

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
            rows = plural(count, "row")
            self._find(R.DROP_TABLE, index, label,
                       f"drops table {op.table_name}, which holds {rows}", count,
                       destroys=f"drops table {op.table_name} and its {rows}",
                       keep=(TABLE, self.start_tables[index].get(table.origin), [], None))

    def _add_column(self, op, index, label):
        table = self.tables.get(op.table_name)
        if table is None:
            return
        column = op.column
        has_default = column.server_default is not None or column.computed is not None
        table.columns[column.name] = Column(None, FILLED if has_default else NULL)
        for risk in R.risks_of(op, self.live.dialect):
            if risk.kind is R.ADD_NOT_NULL:
                self._no_value_for_existing_rows(
                    table, op.table_name, column.name, index, label,
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
            self._find(R.ADD_NOT_NULL, index, label,
                       f"{doing} with no value for the {plural(count, 'existing row')}", count)

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
            # NULLs, and values equal to the column's server default, are not data: a
            # downgrade re-creates them exactly.
            count, default = self.live.data_values(table.origin, column.origin)
            values = plural(count, "non-null value")
            if default is not None:
                values += f" other than its default {default}"
        else:  # FILLED by a default in an earlier pending step: nothing to keep
            return
        if count:
            keys = self.live.key_columns(table.origin)
            start = self.start_names[index].get((table.origin, column.origin))
            self._find(R.DROP_COLUMN, index, label,
                       f"drops column {name}, which holds {values}", count,
                       destroys=f"drops column {name} and its {values}",
                       keep=(COLUMN, start[0], [start[1]], None) if keys and start else None)

    def _alter_column(self, op, index, label):
        table = self.tables.get(op.table_name)
        column = table.columns.get(op.column_name) if table else None
        if column is None:
            return
        name = f"{op.table_name}.{op.column_name}"
        for risk in R.risks_of(op, self.live.dialect):
            if risk.kind in (R.NARROW, R.CONVERT):
                self._type_change(risk.kind, op, table, column, name, index, label)
            elif risk.kind is R.NOT_NULL:
                self._not_null(table, column, op, name, index, label)
        if op.modify_name is not None:
            table.columns[op.modify_name] = table.columns.pop(op.column_name)

    def _type_change(self, kind, op, table, column, name, index, label):
        if column.values == NULL or table.rows == EMPTY:
            return
        if column.values != LIVE or not self._queryable(table):
            what = "narrowing" if kind is R.NARROW else "type change"
            self._note(label, f"{what} of {name} not checked: a pending step changes its "
                              "values first")
            return
        new_type = R.type_name(op.modify_type, self.live.dialect)
        start = self.start_names[index].get((table.origin, column.origin))
        keys = self.live.key_columns(table.origin)
        if kind is R.NARROW:
            length = R.string_length(op.modify_type)
            count, longest, ids = self.live.longer_than(table.origin, column.origin, length)
            if not count:
                return
            where = self._longer_condition(start[1], length) if start else None
            self._find(
                R.NARROW, index, label,
                f"narrows {name} to {new_type}, but {_rows_hold(count)} longer values "
                f"(longest: {longest} characters; {ids})", count,
                destroys=f"cuts {plural(count, 'value')} of {name} to {length} characters, "
                         f"then narrows it to {new_type} (longest now: {longest} characters; "
                         f"{ids})",
                prepare=("cut", *start, length) if start else None,
                keep=(CELLS, start[0], [start[1]], where) if keys and start else None)
            return
        count, sample = self.live.lost_in_conversion(table.origin, column.origin,
                                                     op.modify_type)
        if not count:
            return
        old_type = R.type_name(op.existing_type, self.live.dialect)
        nullable = op.existing_nullable is not False and op.modify_nullable is not False
        then = ("sets them to NULL" if nullable else
                "leaves them to the database's own conversion")
        self._find(
            R.CONVERT, index, label,
            f"changes {name} from {old_type} to {new_type}, but {_rows_hold(count)} values "
            f"it would not keep ({sample})", count,
            destroys=f"changes {name} to {new_type} and {then} for "
                     f"{plural(count, 'value')} it would not keep ({sample})",
            prepare=("null", *start, op.modify_type) if start and nullable else None,
            keep=(CELLS, start[0], [start[1]],
                  ("lost", start[1], op.modify_type)) if keys and start else None)

    def _longer_condition(self, column, length):
        quoted = self.live.dialect.identifier_preparer.quote(column)
        function = "length" if self.live.dialect.name == "sqlite" else "char_length"
        return f"{function}({quoted}) > {int(length)}"

    def _not_null(self, table, column, op, name, index, label):
        if column.values == NULL:
            self._no_value_for_existing_rows(table, op.table_name, op.column_name, index,
                                             label, f"makes {name} NOT NULL")
        elif column.values == RESTORED:
            uncovered = getattr(column, "uncovered", 0)
            if uncovered:
                self._find(R.NOT_NULL, index, label,
                           f"makes {name} NOT NULL, but {_rows_hold(uncovered)} no kept value "
                           "for it (added after the values were kept)", uncovered)
        elif column.values == UNKNOWN:
            self._note(label, f"NOT NULL on {name} not checked: a pending step changes "
                              "its values first")
        elif column.values == LIVE and table.rows != EMPTY:
            if self._queryable(table):
                count, ids = self.live.nulls(table.origin, column.origin)
                if count:
                    self._find(R.NOT_NULL, index, label,
                               f"makes {name} NOT NULL, but {_rows_hold(count)} NULL "
                               f"there ({ids})", count)
                    self.findings[-1].fix = R.NOT_NULL.fix.format(name=name)
            else:
                self._note(label, f"NOT NULL on {name} not checked: a pending step "
                                  "changes the table's data first")

    def _columns_live(self, table, names, text, label):
        """The columns *names* of *table* when the database can answer for them, else None."""
        columns = [table.columns.get(name) for name in names or []]
        if names is None or None in columns:
            self._note(label, f"{text} not checked: it indexes an expression")
            return None
        if any(column.values == NULL for column in columns):
            return []  # NULL in every row: nothing to collide, nothing to point anywhere
        if not self._queryable(table) or any(c.values != LIVE for c in columns):
            self._note(label, f"{text} not checked: a pending step changes its values first")
            return None
        return columns

    def _unique(self, op, what, constraint_name, index, label):
        table = self.tables.get(op.table_name)
        if table is None or table.rows == EMPTY:
            return
        names = R.index_columns(op)
        text = f"{what} {constraint_name} on {op.table_name}"
        columns = self._columns_live(table, names, text, label)
        if not columns:
            return
        count, values = self.live.duplicates(table.origin, [c.origin for c in columns])
        if count:
            self._find(R.UNIQUE, index, label,
                       f"adds {text} ({', '.join(names)}), but {plural(count, 'row')} "
                       f"{'shares its' if count == 1 else 'share their'} values with another "
                       f"row (duplicated: {values})", count)

    def _foreign_key(self, op, index, label):
        table = self.tables.get(op.source_table)
        if table is None or table.rows == EMPTY:
            return
        text = f"foreign key {op.constraint_name} on {op.source_table}"
        columns = self._columns_live(table, list(op.local_cols), text, label)
        if not columns:
            return
        referent = self.tables.get(op.referent_table)
        local = [c.origin for c in columns]
        if referent is None:
            self._note(label, f"{text} not checked: table {op.referent_table} is not there")
            return
        if referent.rows == EMPTY:  # a new, empty table: every key that is set is an orphan
            count, sample = self.live.with_values(table.origin, local)
        elif not self._queryable(referent):
            self._note(label, f"{text} not checked: a pending step changes "
                              f"{op.referent_table} first")
            return
        else:
            remote = []
            for name in op.remote_cols:
                column = referent.columns.get(name)
                if column is None or column.origin is None:
                    self._note(label, f"{text} not checked: {op.referent_table}.{name} is new")
                    return
                remote.append(column.origin)
            count, sample = self.live.orphans(table.origin, local, referent.origin, remote)
        if count:
            self._find(R.FOREIGN_KEY, index, label,
                       f"adds {text} ({', '.join(op.local_cols)}) -> {op.referent_table}, "
                       f"but {_rows_hold(count)} values that name no {op.referent_table} row "
                       f"({sample})", count)

    def _check(self, op, index, label):
        table = self.tables.get(op.table_name)
        if table is None or table.rows == EMPTY:
            return
        text = f"check constraint {op.constraint_name} on {op.table_name}"
        if not self._queryable(table) or any(
                c.values not in (LIVE,) and c.origin is None for c in table.columns.values()):
            self._note(label, f"{text} not checked: a pending step changes the table first")
            return
        condition = R.check_condition(op)
        try:
            count, ids = self.live.violations(table.origin, condition)
        except sa.exc.DBAPIError as exc:
            self._note(label, f"{text} not checked: its condition could not be evaluated "
                              f"({exc.orig})")
            return
        if count:
            self._find(R.CHECK, index, label,
                       f"adds {text} ({condition}), but {_rows_hold(count)} values it rejects "
                       f"({ids})", count)

    # -- deciding -------------------------------------------------------------------------

    def enforce(self, options):
        """Refuse (SafetyError), or print what will be destroyed; returns {step index:
        [actions to run first]} for the accepted losses."""
        out = sys.stderr
        for note in self.notes:
            print(f"Note: {note}", file=out)
        blockers = [f for f in self.findings if not f.kind.destroys]
        losses = [f for f in self.findings if f.kind.destroys]
        if blockers or (losses and not options.allow_data_loss):
            raise SafetyError(self._refusal(blockers, losses, options))
        # The data allows it; on MySQL, may it block writes?
        self.online.enforce(options, self.direction)
        if not self.findings:
            return {}

        print(f"{self.direction} --allow-data-loss: destroying existing data:", file=out)
        for finding in losses:
            kept = " (kept: the reverse run puts it back)" if finding.keep else \
                " (not kept: the table has no primary key)"
            print(f"  - {finding.destroys}{kept}", file=out)
        out.flush()
        return self._actions(losses)

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
            lines.append(f"To destroy the data listed above and go on, run again with {flag} "
                         "(what it destroys is kept, and db downgrade puts it back).")
        return "\n".join(lines)

    def _actions(self, losses):
        """Per step: keep what is lost, then cut or clear the values the change refuses."""
        by_step = {}
        for finding in losses:
            step = self.steps[finding.step_index]
            actions = by_step.setdefault(finding.step_index, [])
            if finding.keep:
                actions.append(_keeping(self, step, finding.keep))
            if finding.prepare:
                actions.append(_preparing(self.live, finding.prepare))
        return by_step


def _keeping(plan, step, keep):
    kind, table, columns, where = keep

    def run():
        keys = plan.live.key_columns(table)
        condition = where
        if isinstance(where, tuple):  # ("lost", column, new type): only the changing cells
            condition = _lost_condition(plan.live, table, where[1], where[2], keys)
        plan.keeper.keep(step.revision.revision, "upgrade" if step.is_upgrade else "downgrade",
                         kind, table, columns, keys, condition)

    return run


def _lost_condition(live, table, column, new_type, keys):
    """A SQL condition choosing the rows whose *column* the type change would not keep."""
    quote = live.dialect.identifier_preparer.quote
    lost = live.lost_keys(table, column, new_type)
    if not lost:
        return "1 = 0"
    if len(keys) == 1:
        literals = ", ".join(_sql_literal(live, k[0]) for k in lost)
        return f"{quote(keys[0])} IN ({literals})"
    return " OR ".join("(" + " AND ".join(f"{quote(k)} = {_sql_literal(live, v)}"
                                          for k, v in zip(keys, key)) + ")" for key in lost)


def _sql_literal(live, value):
    return str(sa.literal(value).compile(dialect=live.dialect,
                                         compile_kwargs={"literal_binds": True}))


def _preparing(live, prepare):
    action, table, column, argument = prepare

    def run():
        col = sa.column(column)
        target = sa.table(table, col)
        if action == "cut":
            live.connection.execute(target.update().where(live.char_length(col) > argument)
                                    .values({column: sa.func.substr(col, 1, argument)}))
        else:  # "null": values the type change would not keep become NULL
            keys = live.key_columns(table)
            condition = _lost_condition(live, table, column, argument, keys)
            live.connection.execute(sa.text(
                f"UPDATE {live.dialect.identifier_preparer.quote(table)} SET "
                f"{live.dialect.identifier_preparer.quote(column)} = NULL WHERE {condition}"))

    return run


def _is_null_test(where, name):
    """True when *where* is ``<name> IS NULL`` (qualified by its table or not)."""
    return (isinstance(where, sa.sql.elements.BinaryExpression)
            and where.operator is sa.sql.operators.is_
            and isinstance(where.right, sa.sql.elements.Null)
            and getattr(where.left, "name", None) == name)
