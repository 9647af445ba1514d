"""THE table of risks: which operations can lose or break data, how, and what overrides it."""
# db migrate's report and the db upgrade/downgrade gate both read ``risks_of``: they cannot
# disagree about what is dangerous. The gate then asks the live data (probes.py) whether each
# risk is real; a risk the data does not bear out applies silently.

from dataclasses import dataclass

import sqlalchemy as sa
from alembic.operations import ops

from migration_safety import conversions
from migration_safety.conversions import string_length, type_name

ALLOW_DATA_LOSS = "--allow-data-loss"


@dataclass(frozen=True)
class Kind:
    name: str
    # The change, as the README's table of every kind names it.
    change: str
    # What the data check looks for, as the README's table says it.
    looks_for: str
    # The option that lets it go ahead (after keeping what is lost), or None: fix the data.
    override: str | None
    # How to fix the data when no option covers it.
    fix: str = ""

    @property
    def destroys(self):
        return self.override == ALLOW_DATA_LOSS


DROP_TABLE = Kind("drop table", "drop a table", "rows in the table", ALLOW_DATA_LOSS)
DROP_COLUMN = Kind("drop column", "drop a column",
                   "values that are not NULL and not the server default", ALLOW_DATA_LOSS)
NARROW = Kind("narrow", "narrow a string", "strings longer than the new length", ALLOW_DATA_LOSS)
CONVERT = Kind("convert", "change a type", "values the new type does not keep", ALLOW_DATA_LOSS)
NOT_NULL = Kind("not null", "make a column NOT NULL", "NULLs", None,
                "fill in or delete the rows where {name} is NULL")
ADD_NOT_NULL = Kind(
    "add not null", "add a NOT NULL column without a server default", "rows in the table", None,
    "the script must give existing rows a value: add server_default=... there, or add the "
    "column as nullable, fill it, then make it NOT NULL (db migrate writes that when it asks "
    "for a value)")
UNIQUE = Kind("unique", "add a unique index or constraint", "duplicated values", None,
              "change or delete the duplicated rows")
FOREIGN_KEY = Kind("foreign key", "add a foreign key", "rows pointing at no row", None,
                   "delete those rows, point them at existing rows, or set the column to NULL")
CHECK = Kind("check", "add a CHECK constraint", "rows the condition rejects", None,
             "change or delete the rows the condition rejects")
RAW_SQL = Kind("sql", "raw SQL", "nothing it can read: it says which checks the SQL hides", None)

KINDS = (DROP_TABLE, DROP_COLUMN, NARROW, CONVERT, NOT_NULL, ADD_NOT_NULL, UNIQUE,
         FOREIGN_KEY, CHECK, RAW_SQL)


@dataclass
class Risk:
    kind: Kind
    table: str
    column: str | None = None
    text: str = ""  # what can happen, for db migrate's report
    op: object = None


def flatten(operations):
    """Every operation in *operations* (a list or an ops container), containers opened."""
    items = getattr(operations, "ops", operations)
    for item in items:
        if isinstance(item, ops.OpContainer):
            yield from flatten(item)
        else:
            yield item


def index_columns(op):
    """Column names of an index or unique constraint operation; None for expressions."""
    names = []
    for column in op.columns:
        if isinstance(column, str):
            names.append(column)
        elif isinstance(column, sa.Column) or getattr(column, "name", None) and isinstance(
                column, sa.sql.elements.ColumnClause):
            names.append(column.name)
        else:
            return None
    return names


def _columns_text(op):
    names = index_columns(op)
    return ", ".join(names) if names is not None else "an expression"


def type_change(op, dialect):
    """NARROW, CONVERT or None for an alter_column's type change."""
    if op.modify_type is None:
        return None
    old, new = op.existing_type, op.modify_type
    if old is not None and conversions.widens(old, new, dialect):
        return None
    old_length = string_length(old) if old is not None else None
    new_length = string_length(new)
    old_is_text = old is not None and isinstance(conversions.instance(old), sa.String) \
        and not isinstance(conversions.instance(old), sa.Enum)
    if new_length is not None and (old is None or old_is_text) and (
            old_length is None or old_length > new_length):
        return NARROW
    return CONVERT


def check_condition(op):
    """The SQL text of a CHECK constraint operation's condition."""
    condition = op.condition
    if isinstance(condition, str):
        return condition
    return str(condition.compile(compile_kwargs={"literal_binds": True}))


def risks_of(op, dialect):
    """Every Risk of one operation; [] when it cannot lose or break data."""
    if isinstance(op, ops.DropTableOp):
        return [Risk(DROP_TABLE, op.table_name,
                     text=f"drops table {op.table_name} and every row in it", op=op)]
    if isinstance(op, ops.DropColumnOp):
        return [Risk(DROP_COLUMN, op.table_name, op.column_name,
                     f"drops column {op.table_name}.{op.column_name} and its values", op)]
    if isinstance(op, ops.AlterColumnOp):
        found = []
        name = f"{op.table_name}.{op.column_name}"
        change = type_change(op, dialect)
        old, new = type_name(op.existing_type, dialect), type_name(op.modify_type, dialect)
        if change is NARROW:
            found.append(Risk(NARROW, op.table_name, op.column_name,
                              f"narrows {name} from {old} to {new}: longer values would be cut "
                              "(refused while any exist)", op))
        elif change is CONVERT:
            found.append(Risk(CONVERT, op.table_name, op.column_name,
                              f"changes the type of {name} from {old} to {new}: values it does "
                              "not keep are refused at db upgrade", op))
        if op.modify_nullable is False:
            found.append(Risk(NOT_NULL, op.table_name, op.column_name,
                              f"makes {name} NOT NULL (refused while it holds NULLs)", op))
        return found
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        if column.nullable is False and column.server_default is None \
                and not column.primary_key and column.computed is None:
            return [Risk(ADD_NOT_NULL, op.table_name, column.name,
                         f"adds {op.table_name}.{column.name} NOT NULL without a server "
                         "default (fails on a table with rows)", op)]
        return []
    if isinstance(op, ops.CreateIndexOp) and op.unique:
        return [Risk(UNIQUE, op.table_name, None,
                     f"adds unique index {op.index_name} on {op.table_name} "
                     f"({_columns_text(op)}) (refused while duplicates exist)", op)]
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return [Risk(UNIQUE, op.table_name, None,
                     f"adds unique constraint {op.constraint_name} on {op.table_name} "
                     f"({_columns_text(op)}) (refused while duplicates exist)", op)]
    if isinstance(op, ops.CreateForeignKeyOp):
        return [Risk(FOREIGN_KEY, op.source_table, None,
                     f"adds foreign key {op.constraint_name} on {op.source_table} "
                     f"({', '.join(op.local_cols)}) -> {op.referent_table} (refused while "
                     "rows point at no row)", op)]
    if isinstance(op, ops.CreateCheckConstraintOp):
        return [Risk(CHECK, op.table_name, None,
                     f"adds check constraint {op.constraint_name} on {op.table_name} "
                     f"({check_condition(op)}) (refused while rows break it)", op)]
    if isinstance(op, ops.ExecuteSQLOp):
        return [Risk(RAW_SQL, None, None,
                     "runs SQL that can change data: read it before upgrading", op)]
    return []
