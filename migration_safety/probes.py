"""SQL that answers "would this lose a value?" on the live database: counts and sample rows."""
import re

import sqlalchemy as sa

from migration_safety import conversions

SAMPLE = 5  # row keys or values shown per finding
STREAM = 2000  # rows fetched at a time when values are checked in Python

# A server default that is one literal value ('new', 0, -1.5), as both backends reflect it.
_LITERAL_DEFAULT = re.compile(r"\s*\(?\s*('(?:[^']|'')*'|-?[0-9]+(?:\.[0-9]+)?)\s*\)?\s*")


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


class LiveData:
    """Questions about the rows in the database now, on the migration's connection."""

    def __init__(self, connection):
        self.connection = connection
        self.dialect = connection.dialect
        self.inspector = sa.inspect(connection)

    # -- helpers ----------------------------------------------------------------------------

    def key_columns(self, table):
        try:
            return list(self.inspector.get_pk_constraint(table)["constrained_columns"])
        except sa.exc.NoSuchTableError:
            return []

    def _source(self, table, *columns):
        """*table* with *columns* and its primary key columns."""
        keys = self.key_columns(table)
        names = list(dict.fromkeys([*columns, *keys]))
        source = sa.table(table, *(sa.column(name) for name in names))
        source.key_names = keys
        return source

    def _scalar(self, query):
        return self.connection.execute(query).scalar() or 0

    def _key_text(self, source, rows):
        """'id 2, 3' (or '(a, b) (1, 2)') for up to SAMPLE key tuples, '...' when more."""
        keys = source.key_names
        if not keys:
            return "rows"
        shown = [str(row[0]) if len(keys) == 1 else repr(tuple(row)) for row in rows[:SAMPLE]]
        more = ", ..." if len(rows) > SAMPLE else ""
        name = keys[0] if len(keys) == 1 else f"({', '.join(keys)})"
        return f"{name} {', '.join(shown)}{more}"

    def _ids(self, source, condition):
        """Up to SAMPLE primary keys of the rows matching *condition*, as text."""
        if not source.key_names:
            return "rows"
        keys = [source.c[k] for k in source.key_names]
        rows = self.connection.execute(
            sa.select(*keys).select_from(source).where(condition).order_by(*keys)
            .limit(SAMPLE + 1)).all()
        return self._key_text(source, rows)

    def char_length(self, column):
        # SQLite's length() counts characters; MySQL's counts bytes, char_length characters.
        if self.dialect.name == "sqlite":
            return sa.func.length(column)
        return sa.func.char_length(column)

    def literal_default(self, table, column):
        """The SQL of *column*'s server default when it is one literal value, else None."""
        for reflected in self.inspector.get_columns(table):
            if reflected["name"] == column:
                default = reflected.get("default")
                if default is None:
                    return None
                match = _LITERAL_DEFAULT.fullmatch(str(default))
                return match.group(1) if match else None
        return None

    # -- questions --------------------------------------------------------------------------

    def row_count(self, table):
        return self._scalar(sa.select(sa.func.count()).select_from(sa.table(table)))

    def data_values(self, table, column):
        """(values that are data, what is not counted): NULLs and values equal to the column's
        literal server default are not data."""
        source = self._source(table, column)
        col = source.c[column]
        condition = col.is_not(None)
        default = self.literal_default(table, column)
        if default is not None:
            condition = sa.and_(condition, col != sa.literal_column(default))
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(condition))
        return count, default

    def nulls(self, table, column):
        source = self._source(table, column)
        is_null = source.c[column].is_(None)
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(is_null))
        return count, (self._ids(source, is_null) if count else "")

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
            sa.select(*(groups.c[c] for c in columns)).limit(SAMPLE)).all()
        values = ", ".join(repr(row[0]) if len(row) == 1 else repr(tuple(row)) for row in sample)
        return int(count), values

    def _lost_rows(self, table, column, new_type):
        """(key tuple, value) of every row whose value the change to *new_type* would not
        keep, streamed."""
        keys = self.key_columns(table)
        sqlite_cast = (self.dialect.name == "sqlite" and conversions.sqlite_casts(
            self._reflected_type(table, column), new_type))
        q = self._quoted
        value = q(column)
        # Raw values as stored, no type processing; on SQLite, the very CAST a batch
        # rebuild applies.
        after = (f"CAST({value} AS {conversions.type_name(new_type, self.dialect)})"
                 if sqlite_cast else value)
        order = f" ORDER BY {', '.join(q(k) for k in keys)}" if keys else ""
        sql = (f"SELECT {', '.join([value, after, *(q(k) for k in keys)])} FROM {q(table)} "
               f"WHERE {value} IS NOT NULL{order}")
        mysql = conversions.is_mysql(self.dialect)
        result = self.connection.execution_options(stream_results=True).execute(sa.text(sql))
        try:
            for partition in result.partitions(STREAM):
                for row in partition:
                    before, converted = row[0], row[1]
                    if mysql:
                        converted = conversions.mysql_converted(before, new_type, self.dialect)
                    if not conversions.survives(before, converted, new_type, self.dialect):
                        yield tuple(row[2:]), before
        finally:
            result.close()

    def lost_in_conversion(self, table, column, new_type):
        """(rows whose value the change to *new_type* would not keep, sample 'key: value')."""
        count, sample = 0, []
        for key, before in self._lost_rows(table, column, new_type):
            count += 1
            if len(sample) <= SAMPLE:
                sample.append((key, before))
        return count, self._value_text(self.key_columns(table), sample)

    def lost_keys(self, table, column, new_type):
        """The primary keys of every row whose value the change would not keep."""
        return [key for key, _ in self._lost_rows(table, column, new_type)]

    def with_values(self, table, columns):
        """(rows where every one of *columns* is set, sample 'key: values')."""
        source = self._source(table, *columns)
        condition = sa.and_(*(source.c[c].is_not(None) for c in columns))
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(condition))
        return count, (self._ids(source, condition) if count else "")

    def _quoted(self, name):
        return self.dialect.identifier_preparer.quote(name)

    def _reflected_type(self, table, column):
        for reflected in self.inspector.get_columns(table):
            if reflected["name"] == column:
                return reflected["type"]
        return sa.NullType()

    def _value_text(self, keys, sample):
        shown = []
        for key, value in sample[:SAMPLE]:
            label = (f"{keys[0]} {key[0]}" if len(key) == 1 else
                     f"{key!r}") if keys else "a row"
            shown.append(f"{label}: {value!r}")
        more = ", ..." if len(sample) > SAMPLE else ""
        return ", ".join(shown) + more

    def orphans(self, table, columns, referent, referent_columns):
        """(rows whose foreign key names no row of *referent*, sample 'key: values')."""
        source = self._source(table, *columns)
        target = sa.table(referent, *(sa.column(c) for c in referent_columns)).alias("referent")
        matches = sa.and_(*(target.c[r] == source.c[c]
                            for c, r in zip(columns, referent_columns)))
        orphan = sa.and_(*(source.c[c].is_not(None) for c in columns),
                         ~sa.exists().where(matches))
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(orphan))
        if not count:
            return 0, ""
        keys = [source.c[k] for k in source.key_names]
        rows = self.connection.execute(
            sa.select(*(source.c[c] for c in columns), *keys).select_from(source)
            .where(orphan).order_by(*(keys or [source.c[columns[0]]])).limit(SAMPLE + 1)).all()
        sample = [(tuple(row[len(columns):]), row[0] if len(columns) == 1 else tuple(
            row[:len(columns)])) for row in rows]
        return count, self._value_text(source.key_names, sample)

    def violations(self, table, condition_sql):
        """(rows for which the CHECK condition is false, sample keys)."""
        source = self._source(table)
        # A CHECK passes when its condition is true or unknown (NULL): count only false.
        failing = sa.text(f"NOT ({condition_sql})")
        count = self._scalar(sa.select(sa.func.count()).select_from(source).where(failing))
        return count, (self._ids(source, failing) if count else "")
