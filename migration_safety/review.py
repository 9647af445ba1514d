"""db migrate's review of autogenerate's findings: rename questions, NOT NULL assistant, risks."""
import datetime
import decimal
import os
import shlex
import sys
from dataclasses import dataclass

import sqlalchemy as sa
from alembic import context as environment
from alembic.autogenerate import renderers
from alembic.operations import ops
from alembic.script import write_hooks

from migration_safety.conversions import type_name
from migration_safety.errors import SafetyError
from migration_safety.keep import RestoreKeptOp
from migration_safety.online import COPY, classify
from migration_safety.options import CHECKING, Options
from migration_safety.private import copy_column, op_prefix, render_type
from migration_safety.questions import ask_value, ask_yes_no, interactive
from migration_safety.risks import flatten, risks_of

REPORT_HOOK = "migration_safety_review"
# MigrateOperation.info key: an alter_column the NOT NULL assistant wrote after its fill.
FILLED = "migration_safety.filled"


def review_autogenerate(context, revision, directives):
    """process_revision_directives hook: turn confirmed renames and NOT NULL columns into
    safe operations, and arrange for the written script's risks to be listed."""
    config = environment.config
    revision_context = context.opts.get("revision_context")
    if (not directives or config.attributes.get(CHECKING) or revision_context is None
            or not revision_context.command_args.get("autogenerate")):
        return
    script = directives[0]
    if script.upgrade_ops is None or script.upgrade_ops.is_empty():
        # An autogenerate that finds nothing writes no empty script.
        directives[:] = []
        print("No changes in schema detected.", file=sys.stderr)
        return
    review = Review(context, script, Options.from_context(environment))
    review.tables()
    review.columns()
    review.not_null_columns()
    review.restorable_downgrades()
    report = review.report()
    # The report travels with the hook that prints it once the script is written: nothing
    # of one command outlives it.
    hooks = [hook for hook in environment.script.hooks
             if hook.get("_hook_name") != REPORT_HOOK]
    if report:
        hooks.append({"_hook_name": REPORT_HOOK, "type": REPORT_HOOK, "report": report})
    environment.script.hooks = hooks


def compare_type(context, inspected_column, metadata_column, inspected_type, metadata_type):
    """``context.configure(compare_type=...)``: alembic's own comparison, plus Enum values on
    databases without native enums (SQLite): the column is a plain VARCHAR there, so a value
    removed from the model's Enum is invisible to autogenerate. When rows still hold a value
    the Enum no longer has, report a type change; db upgrade then refuses it, naming the rows.
    """
    if (isinstance(metadata_type, sa.Enum) and not isinstance(inspected_type, sa.Enum)
            and isinstance(inspected_type, sa.String) and context.connection is not None
            and inspected_column.table is not None):
        column = sa.column(inspected_column.name)
        table = sa.table(inspected_column.table.name, column)
        outside = context.connection.execute(
            sa.select(column).select_from(table)
            .where(column.is_not(None), column.not_in(list(metadata_type.enums))).limit(1)
        ).first()
        if outside is not None:
            return True
    return None  # alembic's own comparison decides


@write_hooks.register(REPORT_HOOK)
def _print_report(path, options):
    shown = os.path.relpath(path) if not os.path.relpath(path).startswith("..") else path
    sys.stdout.flush()
    print(options["report"].replace("{path}", shown), file=sys.stderr)
    sys.stderr.flush()


class FillColumnOp(ops.MigrateOperation):
    """Give every existing row a value for a column (rendered as an UPDATE in the script)."""

    def __init__(self, table_name, column, value):
        self.table_name = table_name
        self.column = column
        self.value = value

    def to_diff_tuple(self):
        return ("fill_column", self.table_name, self.column.name, self.value)


class _SQLValue:
    """A value computed by the database when the migration runs (CURRENT_TIMESTAMP...)."""

    def __init__(self, code, text):
        self.code = code
        self.text = text

    def __repr__(self):
        return self.text


NOW = _SQLValue("sa.func.current_timestamp()", "the time of the upgrade")
TODAY = _SQLValue("sa.func.current_date()", "the date of the upgrade")


def _render_value(value, autogen_context):
    if isinstance(value, _SQLValue):
        return value.code
    if isinstance(value, decimal.Decimal):
        autogen_context.imports.add("from decimal import Decimal")
        return repr(value)
    if isinstance(value, (datetime.datetime, datetime.date)):
        autogen_context.imports.add("import datetime")
        return f"datetime.{value!r}"
    return repr(value)


@renderers.dispatch_for(FillColumnOp, replace=True)
def _render_fill(autogen_context, op):
    table, column = op.table_name, op.column.name
    return (
        f"# Rows that exist before this migration get {_render_value(op.value, autogen_context)}"
        f" in {column} (answered at db migrate).\n"
        f"table = sa.table({table!r}, sa.column({column!r}, "
        f"{render_type(op.column.type, autogen_context)}))\n"
        f"op.execute(table.update().where(table.c[{column!r}].is_(None))"
        f".values({{{column!r}: {_render_value(op.value, autogen_context)}}}))"
    )


# replace=True: importing this module again (a second app in one process) must not fail.
@renderers.dispatch_for(ops.RenameTableOp, replace=True)
def _render_rename_table(autogen_context, op):
    # Alembic can run rename_table but has no autogenerate renderer for it.
    schema = f", schema={op.schema!r}" if op.schema else ""
    return (f"{op_prefix(autogen_context)}rename_table("
            f"{op.table_name!r}, {op.new_table_name!r}{schema})")


def parse_value(text, column, table_name):
    """The Python value of *text* typed for existing rows of *column*; ValueError if unfit."""
    type_ = column.type
    name = f"{table_name}.{column.name}"
    try:
        python_type = type_.python_type
    except NotImplementedError:
        python_type = None
    text = text.strip() if python_type is not str else text
    if isinstance(type_, sa.Boolean) or python_type is bool:
        lowered = text.lower()
        if lowered in ("y", "yes", "true", "1"):
            return True
        if lowered in ("n", "no", "false", "0"):
            return False
        raise ValueError(f"{name} is a boolean: enter yes or no (or true/false, 1/0)")
    if python_type is int:
        try:
            return int(text)
        except ValueError:
            raise ValueError(f"{name} is an integer: enter a whole number such as 0") from None
    if python_type is float:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"{name} is a number: enter one such as 0 or 1.5") from None
    if python_type is decimal.Decimal:
        try:
            return decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise ValueError(f"{name} is a number: enter one such as 0 or 1.50") from None
    if python_type is datetime.datetime:
        if text.lower() == "now":
            return NOW
        try:
            return datetime.datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} is a date and time: enter 'now' or one such as "
                             "2026-01-31 12:00:00") from None
    if python_type is datetime.date:
        if text.lower() == "today":
            return TODAY
        try:
            return datetime.date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{name} is a date: enter 'today' or one such as "
                             "2026-01-31") from None
    if python_type is str:
        length = getattr(type_, "length", None)
        if length is not None and len(text) > length:
            raise ValueError(f"{name} holds at most {length} characters; "
                             f"that value has {len(text)}")
        return text
    return text


@dataclass
class Likely:
    """A likely rename nobody confirmed: written as drop + add, reported afterwards."""

    option: str  # what --rename takes to accept it
    text: str
    table: str  # the added table, or the column's table
    column: str | None  # the added column; None for a table


def _same_column(context, before, after):
    """True when *after* has the type and nullability of *before* (a reflected column)."""
    return (before.nullable == after.nullable
            and not context.impl.compare_type(before, after))


class Review:
    """The decisions db migrate takes about one autogenerated script, and its report."""

    def __init__(self, context, script, options):
        self.context = context
        self.script = script
        self.options = options
        self.ask = interactive(options)
        self.dialect = context.dialect
        self.unconfirmed = []  # (option value, description) of likely renames left as drop+add
        self.written = []  # what the review turned into safe operations

    # -- renamed tables -------------------------------------------------------------------

    def tables(self):
        upgrade = self.script.upgrade_ops
        added = {op.table_name: op for op in upgrade.ops if isinstance(op, ops.CreateTableOp)}
        removed = {op.table_name: op for op in upgrade.ops if isinstance(op, ops.DropTableOp)}

        for old, new in self.options.table_renames.items():
            if old not in removed or new not in added:
                raise SafetyError(
                    f"--rename {old}:{new}: autogenerate found no removed table {old!r} and "
                    f"added table {new!r} (removed: {', '.join(removed) or 'none'}; added: "
                    f"{', '.join(added) or 'none'}). No script was written."
                )
            if not self._same_table(removed[old], added[new]):
                raise SafetyError(
                    f"--rename {old}:{new}: the tables' columns differ. Rename the table in "
                    "one migration and change its columns in the next. No script was written."
                )

        for old, drop in list(removed.items()):
            if old in self.options.table_renames:
                new = self.options.table_renames[old]
            else:
                candidates = [new for new, create in added.items()
                              if new not in self.options.table_renames.values()
                              and self._same_table(drop, create)]
                new = self._decide_table(old, candidates)
            if new is None:
                continue
            del added[new]
            _rename_table(self.script.upgrade_ops, old, new)
            _rename_table(self.script.downgrade_ops, new, old)
            self.written.append(f"renames table {old} to {new} (its rows are kept)")

    def _decide_table(self, old, candidates):
        for new in candidates:
            if self.ask:
                if ask_yes_no(f"Did you rename table {old} to {new}?"):
                    return new
            else:
                self.unconfirmed.append(Likely(
                    f"{old}:{new}",
                    f"table {old} -> {new} (same columns): the script drops table {old} "
                    "and every row in it",
                    new, None,
                ))
        return None

    def _same_table(self, drop, create):
        before = {c.name: c for c in drop.reverse().columns if isinstance(c, sa.Column)}
        if not before:  # autogenerate did not describe the dropped table
            return False
        after = {c.name: c for c in create.columns if isinstance(c, sa.Column)}
        return before.keys() == after.keys() and all(
            _same_column(self.context, before[name], after[name]) for name in before)

    # -- renamed columns ------------------------------------------------------------------

    def columns(self):
        upgrade_tables = {op.table_name: op for op in self.script.upgrade_ops.ops
                          if isinstance(op, ops.ModifyTableOps)}
        downgrade_tables = {op.table_name: op for op in self.script.downgrade_ops.ops
                            if isinstance(op, ops.ModifyTableOps)}

        for (table, old), new in self.options.column_renames.items():
            modify = upgrade_tables.get(table)
            drops = _column_ops(modify, ops.DropColumnOp)
            adds = _column_ops(modify, ops.AddColumnOp)
            if old not in drops or new not in adds:
                raise SafetyError(
                    f"--rename {table}.{old}:{new}: autogenerate found no removed column "
                    f"{table}.{old} and added column {table}.{new} (removed: "
                    f"{', '.join(drops) or 'none'}; added: {', '.join(adds) or 'none'}). "
                    "No script was written."
                )

        for table, modify in upgrade_tables.items():
            drops = _column_ops(modify, ops.DropColumnOp)
            adds = _column_ops(modify, ops.AddColumnOp)
            explicit = {old: new for (t, old), new in self.options.column_renames.items()
                        if t == table}
            for old, drop in drops.items():
                before = _dropped_column(drop)
                if old in explicit:
                    new = explicit[old]
                else:
                    candidates = [
                        name for name, add in adds.items()
                        if name not in explicit.values() and before is not None
                        and _same_column(self.context, before, add.column)
                    ]
                    new = self._decide_column(table, old, [adds[n].column for n in candidates])
                if new is None:
                    continue
                after = adds.pop(new).column
                if before is None:
                    raise SafetyError(f"--rename {table}.{old}:{new}: the database did not "
                                      f"describe {table}.{old}. No script was written.")
                changes_type = self.context.impl.compare_type(before, after)
                # The model's type renders portably (sa.Integer(), not mysql.INTEGER(11)).
                same = None if changes_type else after.type
                _rename_column(modify, old, new, before, after, changes_type, same)
                _rename_column(downgrade_tables[table], new, old, after, before, changes_type,
                               same)
                _split_index_creation(self.script.upgrade_ops, modify)
                _split_index_creation(self.script.downgrade_ops, downgrade_tables[table])
                self.written.append(f"renames column {table}.{old} to {new} "
                                    "(its values are kept)")

    def _decide_column(self, table, old, candidates):
        for after in candidates:
            new = after.name
            if self.ask:
                if ask_yes_no(f"Did you rename {table}.{old} to {table}.{new}?"):
                    return new
            else:
                self.unconfirmed.append(Likely(
                    f"{table}.{old}:{new}",
                    f"{table}.{old} -> {table}.{new} (same type "
                    f"{type_name(after.type, self.dialect)}, "
                    f"{'NULL' if after.nullable else 'NOT NULL'}): the script drops "
                    f"{table}.{old} and every value in it",
                    table, new,
                ))
        return None

    # -- NOT NULL columns added to existing tables ----------------------------------------

    def not_null_columns(self):
        upgrade = self.script.upgrade_ops
        missing = []
        for modify in list(upgrade.ops):
            if not isinstance(modify, ops.ModifyTableOps):
                continue
            fills = []
            for position, op in enumerate(modify.ops):
                if not isinstance(op, ops.AddColumnOp):
                    continue
                column = op.column
                if (column.nullable is not False or column.server_default is not None
                        or column.primary_key or column.computed is not None):
                    continue
                if column.unique or _unique_in(modify, column.name):
                    raise SafetyError(
                        f"{modify.table_name}.{column.name} is added as NOT NULL and unique "
                        "without a server default: one value for every existing row would "
                        "repeat it. Add it with nullable=True first, give the rows distinct "
                        "values, then make it NOT NULL in a later migration. No script was "
                        "written.")
                value = self._value_for(modify.table_name, column)
                if value is None:
                    missing.append((modify.table_name, column))
                    continue
                nullable = copy_column(column)
                nullable.nullable = True
                modify.ops[position] = ops.AddColumnOp(modify.table_name, nullable,
                                                       schema=op.schema)
                fills.append((column, value))
                self.written.append(
                    f"adds {modify.table_name}.{column.name}, fills existing rows with "
                    f"{value!r}, then makes it NOT NULL")
            if fills:
                at = upgrade.ops.index(modify) + 1
                alters = []
                for column, value in fills:
                    alter = ops.AlterColumnOp(
                        modify.table_name, column.name, schema=modify.schema,
                        existing_type=column.type, existing_nullable=True,
                        modify_nullable=False,
                    )
                    alter.info[FILLED] = True
                    alters.append(alter)
                upgrade.ops[at:at] = [FillColumnOp(modify.table_name, c, v) for c, v in fills]
                upgrade.ops.insert(at + len(fills), ops.ModifyTableOps(
                    modify.table_name, alters, schema=modify.schema))
        if missing:
            raise SafetyError(self._missing_values(missing))

    # -- downgrades that put back what an accepted loss kept -------------------------------

    def restorable_downgrades(self):
        """After each re-created column or table in downgrade(), put back what db upgrade
        --allow-data-loss kept. A NOT NULL column comes back nullable, gets its values, then
        becomes NOT NULL again: a plain add would fail on a table with rows."""
        dropped_columns = {(modify.table_name, op.column_name)
                           for modify in self.script.upgrade_ops.ops
                           if isinstance(modify, ops.ModifyTableOps)
                           for op in modify.ops if isinstance(op, ops.DropColumnOp)}
        dropped_tables = {op.table_name for op in self.script.upgrade_ops.ops
                          if isinstance(op, ops.DropTableOp)}
        revision = self.script.rev_id
        container = self.script.downgrade_ops
        for item in list(container.ops):
            at = container.ops.index(item) + 1
            if isinstance(item, ops.CreateTableOp) and item.table_name in dropped_tables:
                container.ops.insert(at, RestoreKeptOp(item.table_name, None, revision))
                continue
            if not isinstance(item, ops.ModifyTableOps):
                continue
            restored, alters = [], []
            for position, op in enumerate(item.ops):
                if not (isinstance(op, ops.AddColumnOp)
                        and (item.table_name, op.column.name) in dropped_columns):
                    continue
                column = op.column
                restored.append(column.name)
                if (column.nullable is False and column.server_default is None
                        and not column.primary_key):
                    nullable = copy_column(column)
                    nullable.nullable = True
                    item.ops[position] = ops.AddColumnOp(item.table_name, nullable,
                                                         schema=op.schema)
                    alter = ops.AlterColumnOp(item.table_name, column.name, schema=item.schema,
                                              existing_type=column.type,
                                              existing_nullable=True, modify_nullable=False)
                    alters.append(alter)
            if restored:
                added = [RestoreKeptOp(item.table_name, restored, revision)]
                if alters:
                    added.append(ops.ModifyTableOps(item.table_name, alters, schema=item.schema))
                container.ops[at:at] = added

    def _value_for(self, table, column):
        key = (table, column.name)
        if key in self.options.fills:
            try:
                return parse_value(self.options.fills[key], column, table)
            except ValueError as exc:
                raise SafetyError(f"--fill {table}.{column.name}: {exc}. "
                                  "No script was written.") from None
        if not self.ask:
            return None
        kind = type_name(column.type, self.dialect)
        default = column.default
        suggestion = (f" The model's default for new rows is {default.arg!r}."
                      if default is not None and default.is_scalar else "")
        print(f"{table}.{column.name} is added as NOT NULL without a server default, so the "
              f"rows {table} already holds need a value.{suggestion}", file=sys.stderr)
        value = ask_value(
            f"Value for existing rows of {table}.{column.name} ({kind}); "
            "empty to stop: ",
            lambda text: parse_value(text, column, table),
        )
        if value is None:
            raise SafetyError(
                f"stopped: no script was written. Give {table}.{column.name} a "
                "server_default=... or nullable=True in the model, or run db migrate again "
                "and enter a value for existing rows."
            )
        return value

    def _missing_values(self, missing):
        lines = ["db migrate needs a value for the rows that already exist. No script was "
                 "written."]
        for table, column in missing:
            lines.append(f"  - {table}.{column.name} ({type_name(column.type, self.dialect)}) "
                         f"is added as NOT NULL without a server default: the migration would "
                         f"fail on a {table} table that holds rows")
            for likely in self.unconfirmed:
                if (likely.table, likely.column) == (table, column.name):
                    rename = self.options.hint(f"--rename {likely.option}",
                                               f"-x rename={likely.option}")
                    lines.append(f"    if it is {likely.option.split(':')[0]} "
                                 f"renamed, run db migrate again with {rename} (values are kept)")
        example = " ".join(
            self.options.hint(f"--fill {table}.{column.name}=VALUE",
                              f"-x fill={table}.{column.name}=VALUE")
            for table, column in missing)
        lines.append("Either run db migrate on a terminal and answer its question, or run it "
                     f"with the value: {example}, or give the column a server_default=... (or "
                     "nullable=True) in models.py.")
        return "\n".join(lines)

    # -- the report -----------------------------------------------------------------------

    def report(self):
        """What db migrate prints once the script is written (``{path}`` stands for it)."""
        sections = []
        for name, container in (("upgrade", self.script.upgrade_ops),
                                ("downgrade", self.script.downgrade_ops)):
            lines = []
            for op in flatten(container):
                if op.info.get(FILLED):
                    continue
                for risk in risks_of(op, self.dialect):
                    lines.append(f"    - {risk.text}"
                                 + ("" if risk.kind.destroys else " [check data]"))
                if self.dialect.name in ("mysql", "mariadb"):
                    found = classify(op, self.dialect)
                    if found is not None and found[0] == COPY and not isinstance(
                            op, ops.DropTableOp):
                        lines.append(f"    - {found[1]}: blocks writes to "
                                     f"{_table_of(op)} while it runs [MySQL]")
            if lines:
                sections.append(f"  {name}():")
                sections.extend(lines)
        out = []
        if self.written:
            out.append("Written into {path} at your request:")
            out.extend(f"    - {line}" for line in self.written)
        if sections:
            out.append("Destructive operations in {path} (read it before db upgrade):")
            out.extend(sections)
        if self.unconfirmed:
            out.append("Likely renames, written as a drop and an add because no terminal "
                       "could be asked:")
            out.extend(f"    - {likely.text}" for likely in self.unconfirmed)
            out.append(f"  If these are renames, delete {{path}} and run: {self._rerun()}")
        return "\n".join(out)

    def _rerun(self):
        message = self.script.message
        renames = [likely.option for likely in self.unconfirmed]
        if self.options.manage_py:
            words = ["python", "manage.py", "db", "migrate"]
            if message:
                words += ["-m", message]
            for value in renames:
                words += ["--rename", value]
        else:
            words = ["flask", "db", "migrate"]
            if message:
                words += ["-m", message]
            for value in renames:
                words += ["-x", f"rename={value}"]
        return " ".join(shlex.quote(word) for word in words)


def _dropped_column(drop):
    """The Column a DropColumnOp removes, as autogenerate described it; None if it did not."""
    try:
        return drop.reverse().column
    except ValueError:  # "operation is not reversible; original column is not present"
        return None


def _table_of(op):
    return getattr(op, "table_name", None) or getattr(op, "source_table", "?")


def _unique_in(modify, name):
    """True when *modify* adds a unique index or constraint on column *name* alone."""
    for op in modify.ops:
        unique = isinstance(op, ops.CreateUniqueConstraintOp) or (
            isinstance(op, ops.CreateIndexOp) and op.unique)
        if unique and [getattr(c, "name", c) for c in op.columns] == [name]:
            return True
    return False


def _column_ops(modify, kind):
    if modify is None:
        return {}
    return {op.column_name if kind is ops.DropColumnOp else op.column.name: op
            for op in modify.ops if isinstance(op, kind)}


def _rename_column(modify, old, new, before, after, changes_type, same_type):
    """In *modify*, replace 'drop *old*' and 'add *new*' by one alter_column renaming it."""
    positions = [i for i, op in enumerate(modify.ops)
                 if (isinstance(op, ops.DropColumnOp) and op.column_name == old)
                 or (isinstance(op, ops.AddColumnOp) and op.column.name == new)]
    alter = ops.AlterColumnOp(
        modify.table_name, old, schema=modify.schema,
        existing_type=same_type if same_type is not None else before.type,
        existing_nullable=before.nullable,
        existing_server_default=before.server_default if before.server_default is not None
        else False,
        modify_name=new,
        modify_type=after.type if changes_type else None,
        modify_nullable=after.nullable if after.nullable != before.nullable else None,
    )
    # The rename takes the first of the two places, before any index on the new name.
    modify.ops[positions[0]] = alter
    del modify.ops[positions[1]]


def _split_index_creation(container, modify):
    """Spread a batch that renames a column over three: rename (and drop the constraints
    autogenerate replaces), create the new indexes and constraints, drop the old indexes.

    On SQLite one batch cannot both rename a column and index it under the new name
    (alembic issue #1034), and a new foreign key next to an old one on the same columns
    confuses the next batch's reflection; on MySQL an index that backs a foreign key can
    only be dropped once another index can take its place.
    """
    creates = [op for op in modify.ops
               if isinstance(op, (ops.CreateIndexOp, ops.AddConstraintOp))]
    drops = [op for op in modify.ops if isinstance(op, ops.DropIndexOp)]
    if not creates and not drops:
        return
    modify.ops[:] = [op for op in modify.ops if op not in creates and op not in drops]
    at = container.ops.index(modify) + 1
    container.ops[at:at] = [ops.ModifyTableOps(modify.table_name, batch, schema=modify.schema)
                            for batch in (creates, drops) if batch]


def _rename_table(container, old, new):
    """In *container*, replace 'create *new*' and 'drop *old*' by one rename_table."""
    items = container.ops
    drops = []  # the old table's index drops: its indexes move with it, under the new name
    for op in list(items):
        if isinstance(op, ops.DropTableOp) and op.table_name == old:
            items.remove(op)
        elif isinstance(op, ops.ModifyTableOps) and op.table_name == old:
            items.remove(op)
            op.table_name = new
            for inner in op.ops:
                inner.table_name = new
            drops.append(op)
    at = next(i for i, op in enumerate(items)
              if isinstance(op, ops.CreateTableOp) and op.table_name == new)
    rename = ops.RenameTableOp(old, new)
    items[at] = rename
    creates = [op for op in items if isinstance(op, ops.ModifyTableOps) and op.table_name == new]
    # Foreign keys naming the new table can only be made once it has that name.
    referencing = [op for op in items if isinstance(op, ops.ModifyTableOps) and any(
        isinstance(inner, ops.CreateForeignKeyOp) and inner.referent_table == new
        for inner in op.ops)]
    for op in creates + referencing:
        items.remove(op)
    _keep_same_indexes(creates, drops)
    # New indexes before dropping the old ones: MySQL refuses to drop an index that backs a
    # foreign key until another index can.
    moved = [op for op in creates + drops + referencing if op.ops]
    at = items.index(rename) + 1
    items[at:at] = moved


def _keep_same_indexes(creates, drops):
    """An index that keeps its name and columns is neither dropped nor made again."""
    for drop_modify in drops:
        for drop in list(drop_modify.ops):
            if not isinstance(drop, ops.DropIndexOp):
                continue
            for create_modify in creates:
                for create in list(create_modify.ops):
                    if (isinstance(create, ops.CreateIndexOp)
                            and create.index_name == drop.index_name):
                        create_modify.ops.remove(create)
                        drop_modify.ops.remove(drop)
                        break
                else:
                    continue
                break
