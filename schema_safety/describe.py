"""Plain-language descriptions of alembic operations, and which of them can destroy data."""
import sqlalchemy as sa
from alembic.operations import ops

DESTRUCTIVE = "destructive"
NEEDS_DATA = "needs data"  # fails, or is refused by db upgrade, on some existing data


def flatten(operations):
    """Every operation in *operations* (a list or an ops container), containers opened."""
    items = getattr(operations, "ops", operations)
    for item in items:
        if isinstance(item, ops.OpContainer):
            yield from flatten(item)
        else:
            yield item


def type_name(type_, dialect=None):
    """How the database spells *type_*: VARCHAR(200), INTEGER..."""
    if type_ is None:
        return "?"
    if isinstance(type_, type):
        type_ = type_()
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a type the dialect cannot render; its repr still names it
        return repr(type_)


def string_length(type_):
    """The length limit of a bounded string type, else None (Text, Enum, non-strings)."""
    if isinstance(type_, type):
        type_ = type_()
    if isinstance(type_, sa.String) and not isinstance(type_, sa.Enum):
        return type_.length
    return None


def is_narrowing(existing_type, new_type):
    """True when *new_type* holds shorter strings than *existing_type* (or may)."""
    new_length = string_length(new_type)
    if new_length is None:
        return False
    if isinstance(existing_type, type):
        existing_type = existing_type()
    if not isinstance(existing_type, sa.String):
        return existing_type is None
    old_length = string_length(existing_type)
    return old_length is None or old_length > new_length


def index_columns(op):
    """Column names of an index or unique constraint operation; None for expressions."""
    names = []
    for column in op.columns:
        if isinstance(column, str):
            names.append(column)
        elif isinstance(column, sa.Column) or getattr(column, "name", None) and isinstance(
            column, sa.sql.elements.ColumnClause
        ):
            names.append(column.name)
        else:
            return None
    return names


def _nullability(nullable):
    return "NULL" if nullable in (None, True) else "NOT NULL"


def describe(op, dialect=None):
    """One line saying what *op* does."""
    if isinstance(op, ops.CreateTableOp):
        return f"create table {op.table_name}"
    if isinstance(op, ops.DropTableOp):
        return f"drop table {op.table_name}"
    if isinstance(op, ops.RenameTableOp):
        return f"rename table {op.table_name} to {op.new_table_name}"
    if isinstance(op, ops.AddColumnOp):
        column = op.column
        return (f"add column {op.table_name}.{column.name} "
                f"({type_name(column.type, dialect)}, {_nullability(column.nullable)})")
    if isinstance(op, ops.DropColumnOp):
        return f"drop column {op.table_name}.{op.column_name}"
    if isinstance(op, ops.AlterColumnOp):
        name = f"{op.table_name}.{op.column_name}"
        changes = []
        if op.modify_name is not None:
            changes.append(f"rename to {op.modify_name}")
        if op.modify_type is not None:
            changes.append(f"type {type_name(op.existing_type, dialect)} -> "
                           f"{type_name(op.modify_type, dialect)}")
        if op.modify_nullable is not None:
            changes.append("NULL allowed" if op.modify_nullable else "NOT NULL")
        if op.modify_server_default is not False:
            changes.append("server default changed")
        if op.modify_comment is not False:
            changes.append("comment changed")
        return f"alter column {name}: {', '.join(changes) or 'no change'}"
    if isinstance(op, ops.CreateIndexOp):
        kind = "unique index" if op.unique else "index"
        return f"create {kind} {op.index_name} on {op.table_name} ({_columns_text(op)})"
    if isinstance(op, ops.DropIndexOp):
        return f"drop index {op.index_name} on {op.table_name}"
    if isinstance(op, ops.CreateUniqueConstraintOp):
        return (f"create unique constraint {op.constraint_name} on "
                f"{op.table_name} ({_columns_text(op)})")
    if isinstance(op, ops.CreateForeignKeyOp):
        return (f"create foreign key {op.constraint_name} on {op.source_table} "
                f"({', '.join(op.local_cols)}) -> {op.referent_table}")
    if isinstance(op, ops.DropConstraintOp):
        return f"drop constraint {op.constraint_name} on {op.table_name}"
    if isinstance(op, ops.ExecuteSQLOp):
        return "run SQL that can change data"
    if isinstance(op, ops.BulkInsertOp):
        return f"insert {len(op.rows)} rows into {op.table.name}"
    return type(op).__name__


def _columns_text(op):
    names = index_columns(op)
    return ", ".join(names) if names is not None else "an expression"


def risks(op, dialect=None):
    """(DESTRUCTIVE or NEEDS_DATA, what can happen) for each risk of *op*."""
    found = []
    if isinstance(op, ops.DropTableOp):
        found.append((DESTRUCTIVE, f"drops table {op.table_name} and every row in it"))
    elif isinstance(op, ops.DropColumnOp):
        found.append((DESTRUCTIVE, f"drops column {op.table_name}.{op.column_name} and its "
                                   "values"))
    elif isinstance(op, ops.AlterColumnOp):
        name = f"{op.table_name}.{op.column_name}"
        if op.modify_type is not None:
            old, new = type_name(op.existing_type, dialect), type_name(op.modify_type, dialect)
            if is_narrowing(op.existing_type, op.modify_type):
                found.append((DESTRUCTIVE, f"narrows {name} from {old} to {new}: longer values "
                                           "would be cut (refused while any exist)"))
            elif not _both_strings(op.existing_type, op.modify_type):
                found.append((DESTRUCTIVE, f"changes the type of {name} from {old} to {new}: "
                                           "values that do not convert are lost or refused"))
        if op.modify_nullable is False:
            found.append((NEEDS_DATA, f"makes {name} NOT NULL "
                                      "(refused while it holds NULLs)"))
    elif isinstance(op, ops.AddColumnOp):
        column = op.column
        if column.nullable is False and column.server_default is None and not column.primary_key:
            found.append((NEEDS_DATA, f"adds {op.table_name}.{column.name} NOT NULL without a "
                                      "server default (fails on a table with rows)"))
    elif isinstance(op, ops.CreateIndexOp) and op.unique:
        found.append((NEEDS_DATA, f"adds unique index {op.index_name} on {op.table_name} "
                                  f"({_columns_text(op)}) (refused while duplicates "
                                  "exist)"))
    elif isinstance(op, ops.CreateUniqueConstraintOp):
        found.append((NEEDS_DATA, f"adds unique constraint {op.constraint_name} on "
                                  f"{op.table_name} ({_columns_text(op)}) (refused "
                                  "while duplicates exist)"))
    elif isinstance(op, ops.ExecuteSQLOp):
        found.append((NEEDS_DATA, "runs SQL that can change data: read it before upgrading"))
    return found


def _both_strings(existing_type, new_type):
    """True for a change within strings that is not narrowing (VARCHAR(20) -> TEXT)."""
    types = [t() if isinstance(t, type) else t for t in (existing_type, new_type)]
    return all(isinstance(t, sa.String) and not isinstance(t, sa.Enum) for t in types)
