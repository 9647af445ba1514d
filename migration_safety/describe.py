"""One line in plain language for each alembic operation (db check's list)."""
from alembic.operations import ops

from migration_safety.conversions import type_name
from migration_safety.risks import check_condition, index_columns


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
    if isinstance(op, ops.CreateCheckConstraintOp):
        return (f"create check constraint {op.constraint_name} on {op.table_name} "
                f"({check_condition(op)})")
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
