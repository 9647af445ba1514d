"""Which values survive a type change, value by value, by each backend's own rules."""
import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, sqlite

from migration_safety import conversions

MYSQL, SQLITE = mysql.dialect(), sqlite.dialect()


def kept_by_mysql(value, new_type):
    after = conversions.mysql_converted(value, new_type, MYSQL)
    return conversions.survives(value, after, new_type, MYSQL)


@pytest.mark.parametrize("value, new_type, kept", [
    ("7", sa.Integer(), True),
    ("-12", sa.Integer(), True),
    ("7 units", sa.Integer(), False),
    ("007", sa.Integer(), False),
    (" 7", sa.Integer(), False),
    (Decimal("3.00"), sa.Integer(), True),
    (Decimal("3.75"), sa.Integer(), False),  # MySQL rounds it to 4, silently
    (2 ** 31, sa.Integer(), False),
    (32767, sa.SmallInteger(), True),
    (32768, sa.SmallInteger(), False),
    (Decimal("1.25"), sa.Numeric(10, 1), False),
    (Decimal("1.20"), sa.Numeric(10, 1), True),
    (Decimal("123.5"), sa.Numeric(4, 2), False),
    (16777217, sa.Float(), False),  # FLOAT is 4 bytes on MySQL
    (16777217, sa.Double(), True),
    (datetime.datetime(2026, 1, 31), sa.Date(), True),
    (datetime.datetime(2026, 1, 31, 10, 30), sa.Date(), False),
    (datetime.datetime(2026, 1, 31, 10, 30, 0, 500), sa.DateTime(), False),  # fsp 0
    ("2026-01-31", sa.Date(), True),
    ("31/01/2026", sa.Date(), False),
    (1234, sa.String(3), False),
    (123, sa.String(3), True),
    ("é" * 4, sa.String(4), True),  # characters, not bytes
    ("spam", sa.Enum("open", "closed"), False),
    ("open", sa.Enum("open", "closed"), True),
    (2, sa.Boolean(), False),
    (1, sa.Boolean(), True),
    ("x" * 70000, sa.Text(), False),  # TEXT holds 65,535 bytes
])
def test_mysql_conversion(value, new_type, kept):
    assert kept_by_mysql(value, new_type) is kept


@pytest.mark.parametrize("before, after, new_type, kept", [
    # (the value, what SQLite's CAST made of it, the new type)
    ("7", 7, sa.Integer(), True),
    ("7 units", 7, sa.Integer(), False),
    (3.75, 3, sa.Integer(), False),
    (3.0, 3, sa.Integer(), True),
    ("2026-01-31 00:00:00", 2026, sa.Date(), False),  # CAST(... AS DATE) is numeric
    (40000, 40000, sa.SmallInteger(), False),  # the schema's promise, held on SQLite too
    (1.25, 1.25, sa.Numeric(5, 1), False),
    ("abc", "abc", sa.String(5), True),
    ("abcdef", "abcdef", sa.String(5), False),
])
def test_sqlite_conversion(before, after, new_type, kept):
    assert conversions.survives(before, after, new_type, SQLITE) is kept


@pytest.mark.parametrize("old, new, widens", [
    (sa.String(10), sa.String(20), True),
    (sa.String(20), sa.String(10), False),
    (sa.String(10), sa.Text(), True),
    (sa.Integer(), sa.BigInteger(), True),
    (sa.BigInteger(), sa.Integer(), False),
    (sa.Numeric(10, 2), sa.Numeric(12, 2), True),
    (sa.Numeric(10, 2), sa.Numeric(10, 3), False),
    (sa.Date(), sa.DateTime(), True),
    (sa.Enum("a", "b"), sa.Enum("a", "b", "c"), True),
    (sa.Enum("a", "b"), sa.Enum("a"), False),
    (sa.Integer(), sa.String(20), False),  # probed: the lengths decide
])
def test_widening_needs_no_probe(old, new, widens):
    assert conversions.widens(old, new, MYSQL) is widens
