"""How a reflected schema differs from a revision's, table by table, with what to do about each."""
from dataclasses import dataclass

from migration_safety.schema import charset

# SQLite alters little in place: the table is rebuilt instead, as Alembic's batch mode does.
SQLITE_REBUILD = ("by rebuilding the table (SQLite cannot alter it in place: create it anew as "
                  "the revision has it, copy the rows, drop the old one, rename the new one)")


def _how(action, statement):
    """*action* with the statement that does it, or by a table rebuild where SQLite has none."""
    return f"{action} ({statement})" if statement else f"{action} {SQLITE_REBUILD}"


@dataclass(frozen=True)
class Difference:
    table: str
    what: str   # what differs, the database's side first
    fix: str    # what to do about it


def lines(differences):
    """The differences as indented lines, grouped under their table."""
    out, table = [], None
    for difference in differences:
        if difference.table != table:
            table = difference.table
            out.append(f"  table {table}:")
        out.append(f"    - {difference.what}: {difference.fix}")
    return out


def compare(live, expected, dialect):
    """[Difference] between *live* and *expected* ({table: schema.Table}); [] when equal."""
    sql = _SQL(dialect)
    found = []
    for name in sorted(set(live) | set(expected)):
        if name not in expected:
            found.append(Difference(name, "the table is not in the revision",
                                    "drop it if nothing uses it "
                                    f"({sql.statement('DROP TABLE', name)}), or give it a "
                                    "model and a migration"))
        elif name not in live:
            found.append(Difference(name, "the table is missing",
                                    "the revision has it: is this the right database? Create "
                                    "it as the revision's migration does, then adopt again"))
        else:
            found += _table(name, live[name], expected[name], sql)
    return found


def by_table(differences):
    """*differences* grouped by table, each table's in the order found."""
    return sorted(differences, key=lambda difference: difference.table)


def compare_extras(live, expected):
    """[Difference] between two schema.extras sets: triggers and the tables they keep."""
    found = []
    for kind, name, table in sorted(live - expected, key=lambda extra: (extra[2], extra[1])):
        found.append(Difference(table, f"{kind} {name} is not in the revision",
                                f"drop it if nothing needs it (DROP {kind.upper()} {name})"))
    for kind, name, table in sorted(expected - live, key=lambda extra: (extra[2], extra[1])):
        found.append(Difference(table, f"{kind} {name} is missing",
                                "the revision's migration creates it: create it as that "
                                "migration does, then adopt again"))
    return found


def _table(name, live, expected, sql):
    found = []
    add = lambda what, fix: found.append(Difference(name, what, fix))  # noqa: E731

    converted = _charset(name, live, expected, sql, add)
    if live.options.get("engine") != expected.options.get("engine"):
        add(f"engine {live.options.get('engine')}, the revision has "
            f"{expected.options.get('engine')}",
            f"convert it: ALTER TABLE {sql.q(name)} ENGINE={expected.options.get('engine')}")
    for column in list(expected.columns) + [c for c in live.columns if c not in expected.columns]:
        _column(name, column, live.columns.get(column), expected.columns.get(column), sql,
                add, converted)
    if live.primary_key != expected.primary_key:
        add(f"primary key ({', '.join(live.primary_key)}), the revision has "
            f"({', '.join(expected.primary_key)})",
            "a decision for you: change the key, or the model and a migration")
    _named(live.indexes, expected.indexes, "index", add,
           shown=_index_text,
           create=lambda n, v: sql.create_index(name, n, v),
           drop=lambda n: sql.drop_index(name, n),
           rename=lambda old, new: sql.rename_index(name, old, new))
    _named(live.uniques, expected.uniques, "unique constraint", add,
           shown=lambda v: f"({', '.join(v)})",
           create=lambda n, v: None, drop=lambda n: None)
    _named(live.foreign_keys, expected.foreign_keys, "foreign key", add,
           shown=lambda v: (f"({', '.join(v[0])}) -> {v[1]} ({', '.join(v[2])})"
                            + "".join(f" {rule} {value}" for rule, value in v[3])),
           create=lambda n, v: sql.add_foreign_key(name, n, v),
           drop=lambda n: sql.drop_constraint(name, n, "FOREIGN KEY"))
    _named(live.checks, expected.checks, "check", add, shown=lambda v: f"({v})",
           create=lambda n, v: sql.add_check(name, n, v),
           drop=lambda n: sql.drop_constraint(name, n, "CHECK"))
    return found


def _charset(name, live, expected, sql, add):
    """MySQL: a table in another character set or collation, with the statement that
    converts it (the table's default and each text column, to the revision's exact types).
    Returns the columns that statement converts."""
    have, want = live.options.get("collation"), expected.options.get("collation")
    columns = [c for c, column in expected.columns.items() if c in live.columns
               and column.collation and live.columns[c].collation != column.collation]
    if have == want and not columns:
        return set()
    parts = []
    if have != want:
        parts.append(f"DEFAULT CHARACTER SET {charset(want)} COLLATE {want}")
    parts += [f"MODIFY {sql.q(c)} {sql.definition(expected.columns[c])}" for c in columns]
    what = (f"character set {charset(have)} ({have}), the revision has {charset(want)} "
            f"({want})" if have != want else "columns in another collation than the revision's")
    if columns:
        what += "; columns " + ", ".join(
            f"{c} {live.columns[c].collation}" for c in columns)
    lossless = " (re-encodes the text; nothing is lost going to utf8mb4)" \
        if charset(want) == "utf8mb4" else ""
    add(what, f"convert it{lossless}: ALTER TABLE {sql.q(name)} {', '.join(parts)}")
    return set(columns)


def _column(table, name, live, expected, sql, add, converted):
    if live is None:
        add(f"column {name} ({expected.type}) is missing",
            f"add it: ALTER TABLE {sql.q(table)} ADD COLUMN {sql.q(name)} "
            f"{sql.definition(expected)}"
            + ("" if expected.nullable or expected.default is not None
               else " (give the existing rows a value first: add it NULL, fill it, then "
                    "make it NOT NULL)"))
        return
    if expected is None:
        add(f"column {name} ({live.type}) is not in the revision",
            f"drop it once nothing reads it (ALTER TABLE {sql.q(table)} DROP COLUMN "
            f"{sql.q(name)}), or add it to the model and write a migration")
        return
    column = f"column {name}"
    change = sql.modify(table, name, expected)

    def how(action):
        return _how(action, change)

    if live.type != expected.type:
        add(f"{column}: type {live.type}, the revision has {expected.type}",
            f"a decision for you: {how('convert it if every value fits')}, or make the model "
            f"say {live.type} and write a migration")
    if live.nullable != expected.nullable:
        if expected.nullable:
            add(f"{column}: NOT NULL, the revision allows NULL", how("allow NULL"))
        else:
            add(f"{column}: NULL allowed, the revision has NOT NULL",
                how("fill the NULLs, then make it NOT NULL"))
    if live.default != expected.default:
        add(f"{column}: server default {live.default or 'none'}, the revision has "
            f"{expected.default or 'none'}", how("set it as the revision has it"))
    if live.extra != expected.extra:
        add(f"{column}: {live.extra or 'no extra'}, the revision has "
            f"{expected.extra or 'nothing extra'}", how("change it"))
    if name not in converted and live.collation != expected.collation:
        add(f"{column}: collation {live.collation}, the revision has {expected.collation}",
            how("convert it"))


def _named(live, expected, kind, add, shown, create, drop, rename=None):
    """Indexes and constraints by name; one under another name but otherwise the same is a
    rename when the backend can rename it."""
    missing = {n: v for n, v in expected.items() if n not in live}
    extra = {n: v for n, v in live.items() if n not in expected}
    for name in sorted(n for n in expected if n in live and live[n] != expected[n]):
        add(f"{kind} {name} is {shown(live[name])}, the revision has "
            f"{shown(expected[name])}",
            _replace(drop(name), create(name, expected[name]), "make it as the revision has it"))
    for name, value in sorted(missing.items(), key=lambda item: str(item[0])):
        twin = next((n for n, v in extra.items() if v == value), None)
        if twin is not None:
            del extra[twin]
            how = rename(twin, name) if rename else None
            add(f"{kind} {twin} {shown(value)} is named {name} in the revision",
                f"rename it ({how})" if how else
                _replace(drop(twin), create(name, value), f"name it {name}"))
            continue
        add(f"{kind} {name} {shown(value)} is missing", _how("create it", create(name, value)))
    for name, value in sorted(extra.items(), key=lambda item: str(item[0])):
        add(f"{kind} {name} {shown(value)} is not in the revision",
            _how("drop it if nothing needs it", drop(name)))


def _index_text(value):
    columns, unique, options = value
    options = dict(options)
    if "sql" in options:  # an expression index (SQLite), as written
        return f"({options['sql']})"
    kind = options.get("mysql_prefix", "unique" if unique else "")
    text = f"{kind.lower()} " if kind else ""
    text += f"({', '.join(columns)})"
    for key, value in sorted(options.items()):
        if key == "mysql_length":
            text += " lengths " + ", ".join(f"{c}({n})" for c, n in value)
        elif key != "mysql_prefix":
            text += f" {key.split('_', 1)[1]} {value}"
    return text


def _replace(drop, create, action):
    """Drop and create again, or *action* by a table rebuild where SQLite has no statement."""
    if drop is None or create is None:
        return _how(action, None)
    return f"drop it ({drop}) and create it again ({create})"


class _SQL:
    """The statements the fixes suggest, in the database's own dialect."""

    def __init__(self, dialect):
        self.mysql = dialect.name in ("mysql", "mariadb")
        self.q = dialect.identifier_preparer.quote

    def statement(self, verb, name):
        return f"{verb} {self.q(name)}"

    def definition(self, column):
        text = column.type
        if column.collation:
            text += f" CHARACTER SET {charset(column.collation)} COLLATE {column.collation}"
        text += " NULL" if column.nullable else " NOT NULL"
        if column.default is not None:
            text += f" DEFAULT {column.default}"
        if column.extra:
            text += f" {column.extra.upper()}"
        return text

    def modify(self, table, name, column):
        if not self.mysql:
            return None
        return f"ALTER TABLE {self.q(table)} MODIFY {self.q(name)} {self.definition(column)}"

    def create_index(self, table, name, value):
        columns, unique, options = value
        options = dict(options)
        if "sql" in options:
            return options["sql"]
        lengths = dict(options.get("mysql_length", ()))  # prefix lengths of MySQL indexes
        kind = options.get("mysql_prefix") or ("UNIQUE" if unique else "")
        where = f" WHERE {options['sqlite_where']}" if "sqlite_where" in options else ""
        columns = ", ".join(self.q(c) + (f"({lengths[c]})" if c in lengths else "")
                            for c in columns)
        return (f"CREATE {kind + ' ' if kind else ''}INDEX {self.q(name)} ON {self.q(table)} "
                f"({columns}){where}")

    def drop_index(self, table, name):
        return f"DROP INDEX {self.q(name)}" + (f" ON {self.q(table)}" if self.mysql else "")

    def rename_index(self, table, old, new):
        if not self.mysql:
            return None
        return f"ALTER TABLE {self.q(table)} RENAME INDEX {self.q(old)} TO {self.q(new)}"

    def add_foreign_key(self, table, name, value):
        if not self.mysql:
            return None
        columns, parent, referred, rules = value
        return (f"ALTER TABLE {self.q(table)} ADD CONSTRAINT {self.q(name)} FOREIGN KEY "
                f"({', '.join(self.q(c) for c in columns)}) REFERENCES {self.q(parent)} "
                f"({', '.join(self.q(c) for c in referred)})"
                + "".join(f" {rule.upper().replace('ON', 'ON ')} {value}"
                          for rule, value in rules))

    def add_check(self, table, name, condition):
        if not self.mysql:
            return None
        return f"ALTER TABLE {self.q(table)} ADD CONSTRAINT {self.q(name)} CHECK ({condition})"

    def drop_constraint(self, table, name, kind):
        if not self.mysql:
            return None
        return f"ALTER TABLE {self.q(table)} DROP {kind} {self.q(name)}" if kind != "CHECK" \
            else f"ALTER TABLE {self.q(table)} DROP CONSTRAINT {self.q(name)}"
