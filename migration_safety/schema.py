"""A database's schema as plain data, read the same way from the live and the scratch databases."""
# Both sides of every comparison are reflected from the same kind of server (the live database
# and a scratch one the revisions were run on, adopt.py), so what the server reports is
# compared as it reports it: no guessing how a model would render on it.
import warnings
from dataclasses import dataclass, field

from sqlalchemy import inspect, text
from sqlalchemy.exc import SAWarning

from migration_safety.names import is_ignored, is_safety_table

VERSION_TABLE = "alembic_version"


@dataclass(frozen=True)
class Column:
    type: str
    nullable: bool
    default: str = None
    extra: str = ""           # MySQL: auto_increment, on update ...
    collation: str = None     # MySQL: the column's collation (its charset is its prefix)


@dataclass
class Table:
    columns: dict = field(default_factory=dict)      # name -> Column, in table order
    primary_key: tuple = ()
    indexes: dict = field(default_factory=dict)      # name -> (columns, unique, options)
    uniques: dict = field(default_factory=dict)      # name -> columns (SQLite constraints)
    foreign_keys: dict = field(default_factory=dict)  # name -> (columns, table, columns, rules)
    checks: dict = field(default_factory=dict)       # name -> condition
    options: dict = field(default_factory=dict)      # MySQL: engine, collation


def app_tables(connection):
    """The tables that hold the app's data: all but the version table and the ignored ones."""
    return sorted(name for name in inspect(connection).get_table_names()
                  if name != VERSION_TABLE and not is_ignored(name))


def extras(connection):
    """The app's triggers and the tables they keep (full-text shadow tables, say), which the
    compared schema leaves out, as frozenset of ("table"|"trigger", name, table). Migration
    safety's own tables (keeps, the progress record) belong to no revision and are left out."""
    found = {("table", name, name) for name in inspect(connection).get_table_names()
             if is_ignored(name) and not is_safety_table(name)}
    if connection.dialect.name == "sqlite":
        triggers = connection.exec_driver_sql(
            "SELECT name, tbl_name FROM sqlite_master WHERE type = 'trigger'")
    else:
        triggers = connection.execute(text(
            "SELECT trigger_name, event_object_table FROM information_schema.triggers "
            "WHERE trigger_schema = DATABASE()"))
    return frozenset(found | {("trigger", name, table) for name, table in triggers})


def reflect(connection):
    """{table name: Table} of the database on *connection*, the ignored tables left out."""
    with warnings.catch_warnings():
        # SQLite expression indexes are skipped with a warning: _reflect reads them itself.
        warnings.simplefilter("ignore", SAWarning)
        return _reflect(connection)


def _reflect(connection):
    inspector = inspect(connection)
    mysql = connection.dialect.name in ("mysql", "mariadb")
    extra = _mysql_details(connection) if mysql else {}
    tables = {}
    for name in app_tables(connection):
        table = Table()
        details = extra.get(name, {})
        for column in inspector.get_columns(name):
            if mysql:
                table.columns[column["name"]] = details["columns"][column["name"]]
            else:
                table.columns[column["name"]] = Column(
                    _type(column["type"], connection.dialect), bool(column["nullable"]),
                    _text(column.get("default")))
        table.primary_key = tuple(inspector.get_pk_constraint(name)["constrained_columns"])
        for index in inspector.get_indexes(name):
            options = tuple(sorted(
                (key, tuple(sorted(value.items())) if isinstance(value, dict) else _text(value))
                for key, value in index.get("dialect_options", {}).items()))
            table.indexes[index["name"]] = (tuple(index["column_names"]), bool(index["unique"]),
                                            options)
        if not mysql:
            for index, sql in connection.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                    "tbl_name = ? AND sql IS NOT NULL", (name,)):
                if index not in table.indexes:
                    table.indexes[index] = ((), False, (("sql", _text(sql)),))
        if not mysql:  # on MySQL a unique constraint is a unique index, listed above
            for unique in inspector.get_unique_constraints(name):
                _put(table.uniques, unique["name"], tuple(unique["column_names"]))
        for key in inspector.get_foreign_keys(name):
            rules = tuple(sorted((rule, value.upper()) for rule, value in
                                 (key.get("options") or {}).items() if value))
            _put(table.foreign_keys, key["name"], (tuple(key["constrained_columns"]),
                                                     key["referred_table"],
                                                     tuple(key["referred_columns"]), rules))
        for check in inspector.get_check_constraints(name):
            _put(table.checks, check["name"], _text(check["sqltext"]))
        table.options = details.get("options", {})
        tables[name] = table
    return tables


def _put(found, name, value):
    """found[name] = value; a constraint without a name (SQLite, made without a naming
    convention) is listed as "unnamed 1", "unnamed 2"... in the order reflected."""
    if name is None:
        name = f"unnamed {sum(1 for key in found if key.startswith('unnamed ')) + 1}"
    found[name] = value


def _type(type_, dialect):
    try:
        return type_.compile(dialect=dialect)
    except Exception:  # a type the dialect reflects but cannot render (NullType)
        return str(type_)


def _text(value):
    return None if value is None else " ".join(str(value).split())


def _mysql_details(connection):
    """Per table, from information_schema: each column as the server stores it (its exact
    type, default, extra and collation) and the table's engine and collation."""
    found = {}
    rows = connection.execute(text(
        "SELECT table_name, engine, table_collation FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE'"))
    for name, engine, collation in rows:
        found[name] = {"columns": {}, "options": {"engine": engine, "collation": collation}}
    rows = connection.execute(text(
        "SELECT table_name, column_name, column_type, is_nullable, column_default, extra, "
        "collation_name FROM information_schema.columns WHERE table_schema = DATABASE()"))
    for table, name, type_, nullable, default, extra, collation in rows:
        if table in found:
            # MariaDB says NULL (the text) for "no default" on a nullable column.
            default = None if default in (None, "NULL") else default
            found[table]["columns"][name] = Column(type_, nullable == "YES", _text(default),
                                                   (extra or "").lower(), collation)
    return found


def charset(collation):
    return collation.split("_", 1)[0] if collation else None
