"""Which values survive a change of a column's type, on SQLite and on MySQL/MariaDB."""
# A value survives when the column, after the change, holds the same value in the new type:
# ``'7'`` → ``7``, ``3.50`` → ``3.5``, ``2026-01-31 00:00:00`` → ``2026-01-31``. It is lost when
# it changes or cannot be stored: ``'7 units'`` → 7, 3.75 → 3 or 4, ``'007'`` → 7, 10:30 cut
# from a date and time, a number outside the new type's range, a string longer than the new
# length, a value no longer in an Enum.
#
# On SQLite the database itself says what a value becomes: a batch rebuild copies each value
# with ``CAST(value AS <new type>)`` when the type's affinity changes (alembic's
# ``cast_for_batch_migrate``), so the probe asks SQLite for that very CAST. MySQL converts in
# ALTER TABLE by its own rules, written out below (strict mode refuses some values, rounds
# others silently).

import datetime
import decimal
import re
import struct

import sqlalchemy as sa

from migration_safety.private import type_affinity

LOST = object()  # what a value becomes when the new type cannot hold it

_NUMBER_TEXT = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?")
_DATE_TEXT = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME_TEXT = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]{1,6})?)?)?")

# Signed ranges of MySQL's integer types (SQLite stores any 64-bit integer in any of them).
MYSQL_INTEGER_BITS = {"TINYINT": 8, "SMALLINT": 16, "MEDIUMINT": 24, "INT": 32,
                      "INTEGER": 32, "BIGINT": 64}
MYSQL_TEXT_BYTES = {"TINYTEXT": 255, "TEXT": 65535, "MEDIUMTEXT": 16777215}


def instance(type_):
    return type_() if isinstance(type_, type) else type_


def is_mysql(dialect):
    return dialect.name in ("mysql", "mariadb")


def type_name(type_, dialect=None):
    """How the database spells *type_*: VARCHAR(200), INTEGER..."""
    if type_ is None:
        return "?"
    type_ = instance(type_)
    try:
        return str(type_.compile(dialect=dialect))
    except Exception:  # a type the dialect cannot render; its repr still names it
        return repr(type_)


def string_length(type_):
    """The length limit of a bounded string type, else None (Text, Enum, non-strings)."""
    type_ = instance(type_)
    if isinstance(type_, sa.String) and not isinstance(type_, sa.Enum):
        return type_.length
    return None


# -- what a type is -------------------------------------------------------------------------

def _category(type_):
    type_ = instance(type_)
    if isinstance(type_, sa.Enum):
        return "enum"
    if isinstance(type_, sa.Boolean):
        return "boolean"
    if isinstance(type_, sa.Integer):
        return "integer"
    if isinstance(type_, sa.Float):
        return "float"
    if isinstance(type_, sa.Numeric):
        return "decimal"
    if isinstance(type_, sa.DateTime):
        return "datetime"
    if isinstance(type_, sa.Date):
        return "date"
    if isinstance(type_, sa.String):
        return "string"
    return None


def _mysql_name(type_, dialect):
    return type_name(type_, dialect).split("(")[0].split()[0].upper()


# SQLite stores any value in any column, but the schema is a promise the code relies on
# (and MySQL would enforce it): SMALLINT, NUMERIC(5, 1) and VARCHAR(10) are held to their
# ranges on both backends.

def _integer_bits(type_, dialect):
    return MYSQL_INTEGER_BITS.get(_mysql_name(type_, dialect), 64)


def _decimal_shape(type_, dialect):
    """(precision, scale) a DECIMAL/NUMERIC column holds; None when it says none."""
    if type_.precision is None and not is_mysql(dialect):
        return None
    precision = type_.precision if type_.precision is not None else 10
    scale = type_.scale if type_.scale is not None else 0
    return precision, scale


def _float_is_single(type_, dialect):
    # MySQL's FLOAT is 4 bytes unless asked for more than 24 bits; sa.Double is DOUBLE.
    return is_mysql(dialect) and _mysql_name(type_, dialect) == "FLOAT" and (
        type_.precision is None or type_.precision <= 24)


def _string_limit(type_, dialect):
    """(characters, bytes) the type holds; None for no limit."""
    length = string_length(type_)
    if length is not None:
        return length, None
    if is_mysql(dialect) and isinstance(type_, sa.Text):
        return None, MYSQL_TEXT_BYTES.get(_mysql_name(type_, dialect))
    return None, None


def widens(old_type, new_type, dialect):
    """True when *new_type* surely holds every value of *old_type*: no probe is needed."""
    old, new = instance(old_type), instance(new_type)
    a, b = _category(old), _category(new)
    if a is None or b is None:
        return False
    if a == b == "string":
        old_chars, old_bytes = _string_limit(old, dialect)
        new_chars, new_bytes = _string_limit(new, dialect)
        if new_bytes is not None:  # a MySQL TEXT: up to 4 bytes a character in utf8mb4
            return old_chars is not None and old_chars * 4 <= new_bytes
        return new_chars is None or (old_chars is not None and old_chars <= new_chars)
    if a == b == "integer":
        return _integer_bits(old, dialect) <= _integer_bits(new, dialect)
    if a == "boolean" and b == "integer":
        return True
    if a == b == "decimal":
        old_shape, new_shape = _decimal_shape(old, dialect), _decimal_shape(new, dialect)
        if new_shape is None:
            return True
        if old_shape is None:
            return False
        return new_shape[1] >= old_shape[1] and \
            new_shape[0] - new_shape[1] >= old_shape[0] - old_shape[1]
    if a == "date" and b == "datetime":
        return True
    if a == b == "datetime":
        return True  # fractional seconds are a dialect detail alembic seldom changes
    if a == b == "enum":
        return set(old.enums) <= set(new.enums)
    if a == "enum" and b == "string":
        limit = string_length(new)
        return limit is None or max((len(v) for v in old.enums), default=0) <= limit
    return False


# -- what a value is ------------------------------------------------------------------------

def _number(value):
    """*value* as a Decimal, or None when it is not a number (text must be plainly written)."""
    if isinstance(value, bool):
        return decimal.Decimal(int(value))
    if isinstance(value, int):
        return decimal.Decimal(value)
    if isinstance(value, decimal.Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        return decimal.Decimal(repr(value)) if value == value and abs(value) != float("inf") \
            else None
    if isinstance(value, str) and _NUMBER_TEXT.fullmatch(value):
        return decimal.Decimal(value)
    return None


def _moment(value):
    """*value* as a datetime or date, or None when it is not one."""
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value
    if isinstance(value, str):
        if _DATE_TEXT.fullmatch(value):
            try:
                return datetime.date.fromisoformat(value)
            except ValueError:
                return None
        if _DATETIME_TEXT.fullmatch(value):
            try:
                return datetime.datetime.fromisoformat(value)
            except ValueError:
                return None
    return None


def _text(value):
    """How a value reads as text in the database."""
    if isinstance(value, datetime.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S")
        return text + (f".{value.microsecond:06d}" if value.microsecond else "")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def same(before, after):
    """True when *after* is *before*, read in the new type."""
    if after is LOST:
        return False
    if before is None or after is None:
        return before is after
    a, b = _number(before), _number(after)
    if a is not None and b is not None:
        return a == b
    x, y = _moment(before), _moment(after)
    if x is not None and y is not None:
        if isinstance(x, datetime.datetime) != isinstance(y, datetime.datetime):
            x = x if isinstance(x, datetime.datetime) else datetime.datetime.combine(
                x, datetime.time())
            y = y if isinstance(y, datetime.datetime) else datetime.datetime.combine(
                y, datetime.time())
        return x == y
    if isinstance(before, str) and isinstance(after, str):
        return before == after
    if isinstance(after, str) and not isinstance(before, str):
        return _text(before) == after
    return before == after


def fits(value, new_type, dialect):
    """True when *value* is one the new type stands for (and is no longer than it allows)."""
    if value is None:
        return True
    if value is LOST:
        return False
    new = instance(new_type)
    kind = _category(new)
    if kind == "enum":
        return isinstance(value, str) and value in new.enums
    if kind == "boolean":
        return _number(value) in (0, 1)
    if kind == "integer":
        number = _number(value)
        if number is None or number != number.to_integral_value():
            return False
        bits = _integer_bits(new, dialect)
        return -(2 ** (bits - 1)) <= number < 2 ** (bits - 1)
    if kind == "float":
        return _number(value) is not None
    if kind == "decimal":
        number = _number(value)
        if number is None:
            return False
        shape = _decimal_shape(new, dialect)
        if shape is None:
            return True
        precision, scale = shape
        return (number == number.quantize(decimal.Decimal(1).scaleb(-scale),
                                          rounding=decimal.ROUND_HALF_UP)
                and abs(number) < decimal.Decimal(10) ** (precision - scale))
    if kind == "date":
        moment = _moment(value)
        return moment is not None and not isinstance(moment, datetime.datetime)
    if kind == "datetime":
        return _moment(value) is not None
    if kind == "string":
        text = _text(value)
        chars, limit_bytes = _string_limit(new, dialect)
        if chars is not None and len(text) > chars:
            return False
        return limit_bytes is None or len(text.encode("utf-8")) <= limit_bytes
    return False


def mysql_converted(value, new_type, dialect):
    """What MySQL/MariaDB's ALTER TABLE makes of *value* in *new_type* (LOST: refused)."""
    if value is None:
        return None
    new = instance(new_type)
    kind = _category(new)
    if kind in ("integer", "boolean"):
        number = _number(value)
        if number is None:
            return LOST
        return int(number.to_integral_value(rounding=decimal.ROUND_HALF_UP))
    if kind == "decimal":
        number = _number(value)
        if number is None:
            return LOST
        precision, scale = _decimal_shape(new, dialect)
        rounded = number.quantize(decimal.Decimal(1).scaleb(-scale),
                                  rounding=decimal.ROUND_HALF_UP)
        if abs(rounded) >= decimal.Decimal(10) ** (precision - scale):
            return LOST
        return rounded
    if kind == "float":
        number = _number(value)
        if number is None:
            return LOST
        if _float_is_single(new, dialect):
            return decimal.Decimal(repr(struct.unpack("f", struct.pack("f", float(number)))[0]))
        return decimal.Decimal(repr(float(number)))
    if kind == "date":
        moment = _moment(value)
        if moment is None:
            return LOST
        return moment.date() if isinstance(moment, datetime.datetime) else moment
    if kind == "datetime":
        moment = _moment(value)
        if moment is None:
            return LOST
        if not isinstance(moment, datetime.datetime):
            return datetime.datetime.combine(moment, datetime.time())
        fsp = getattr(new, "fsp", None) or 0
        if not fsp and moment.microsecond:
            return moment.replace(microsecond=0)
        return moment
    if kind in ("string", "enum"):
        return _text(value)
    return LOST


def sqlite_casts(old_type, new_type):
    """True when a SQLite batch rebuild copies the column with CAST (its affinity changes)."""
    return type_affinity(instance(old_type)) is not type_affinity(instance(new_type))


def survives(before, after, new_type, dialect):
    """True when *before*, which became *after*, is kept by the change to *new_type*."""
    return same(before, after) and fits(after, new_type, dialect)
