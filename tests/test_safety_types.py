"""Type changes: a conversion that keeps every value applies; one that would not is refused."""
import datetime
from decimal import Decimal

import pytest

from tests.safety_support import (
    REFUSED, alter_type, applied, column_type, probe_values, refused, with_probe_table,
)
from tests.schema_safety_support import edit_models, new_scripts, seed


def number(value):
    """Values as each driver returns them (SQLite: int/float, PyMySQL: Decimal), compared."""
    return None if value is None else Decimal(str(value))


# (name, column type, values before, new type, values after) — every value survives.
KEPT = [
    ("text to integer", "sa.String(20)", ["7", "42", None], "sa.Integer()", [7, 42, None]),
    ("decimal to integer", "sa.Numeric(10, 2)", [Decimal("3.00"), Decimal("-4.00")],
     "sa.Integer()", [3, -4]),
    ("decimal to fewer decimals", "sa.Numeric(10, 2)", [Decimal("1.50"), Decimal("2.00")],
     "sa.Numeric(10, 1)", [Decimal("1.5"), Decimal("2.0")]),
    ("integer to smaller integer", "sa.Integer()", [100, -5], "sa.SmallInteger()", [100, -5]),
    ("text to shorter string", "sa.Text()", ["abc", "ab"], "sa.String(5)", ["abc", "ab"]),
    ("integer to short string", "sa.Integer()", [12, 999], "sa.String(3)", ["12", "999"]),
    ("enum losing an unused value", "sa.Enum('a', 'b', 'c', name='probe_kind')", ["a", "b"],
     "sa.Enum('a', 'b', name='probe_kind')", ["a", "b"]),
    ("integer to bigger integer", "sa.Integer()", [2 ** 31 - 1], "sa.BigInteger()",
     [2 ** 31 - 1]),
    ("string to longer string", "sa.String(10)", ["0123456789"], "sa.String(20)",
     ["0123456789"]),
]


@pytest.mark.parametrize("name, old, before, new, after", KEPT, ids=[k[0] for k in KEPT])
def test_a_conversion_that_keeps_every_value_applies_silently(project, name, old, before,
                                                              new, after):
    with_probe_table(project, [f"sa.Column('value', {old}, nullable=True)"],
                     [{"id": i, "value": v} for i, v in enumerate(before, 1)])
    project.add_revision("t1", name, alter_type(old, new))
    result = applied(project, "db", "upgrade")
    # Every value was checked (on MySQL a Note may say the change copies the table).
    assert "not checked" not in result.stderr
    values = probe_values(project)
    if isinstance(after[0], (int, Decimal)) and not isinstance(after[0], bool):
        assert [number(v) for v in values] == [number(v) for v in after]
    else:
        assert values == after


# (name, column type, values, new type, what the refusal names) — one value would be lost.
LOST = [
    ("text that is not a number", "sa.String(20)", ["7", "7 units"], "sa.Integer()",
     "id 2: '7 units'"),
    ("a number written with leading zeros", "sa.String(20)", ["007"], "sa.Integer()",
     "id 1: '007'"),
    ("a fraction to an integer", "sa.Numeric(10, 2)", [Decimal("4.00"), Decimal("3.75")],
     "sa.Integer()", "id 2: "),
    ("scale narrowing", "sa.Numeric(10, 2)", [Decimal("1.25")], "sa.Numeric(10, 1)", "id 1: "),
    ("precision narrowing", "sa.Numeric(10, 2)", [Decimal("12.50"), Decimal("123.50")],
     "sa.Numeric(4, 2)", "id 2: "),
    ("integer overflow", "sa.Integer()", [5, 40000], "sa.SmallInteger()", "id 2: 40000"),
    ("a time of day cut from a date", "sa.DateTime()", [datetime.datetime(2026, 1, 31, 10, 30)],
     "sa.Date()", "id 1: "),
    ("an integer too long for the string", "sa.Integer()", [12, 1234], "sa.String(3)",
     "id 2: 1234"),
    ("an enum value still in use", "sa.Enum('a', 'b', 'c', name='probe_kind')", ["a", "c"],
     "sa.Enum('a', 'b', name='probe_kind')", "id 2: 'c'"),
]


@pytest.mark.parametrize("name, old, before, new, named", LOST, ids=[k[0] for k in LOST])
def test_a_conversion_that_would_lose_a_value_is_refused(project, name, old, before, new,
                                                         named):
    with_probe_table(project, [f"sa.Column('value', {old}, nullable=True)"],
                     [{"id": i, "value": v} for i, v in enumerate(before, 1)])
    project.add_revision("t1", name, alter_type(old, new))
    stderr = refused(project, "db", "upgrade")
    assert REFUSED in stderr
    line = next(text for text in stderr.splitlines() if "probe.value" in text)
    assert line.startswith("  - upgrade to t1") and named in line, stderr
    # --allow-data-loss is the way on, and says so.
    assert "run again with --allow-data-loss" in stderr


def test_datetime_to_date_keeps_midnight_values_on_mariadb_only(project, backend):
    """MySQL drops a time of 00:00:00 without loss; a SQLite batch rebuild copies the column
    with CAST(... AS DATE), which turns '2026-01-31 00:00:00' into 2026."""
    with_probe_table(project, ["sa.Column('value', sa.DateTime(), nullable=True)"],
                     [{"id": 1, "value": datetime.datetime(2026, 1, 31)}])
    project.add_revision("t1", "date only", alter_type("sa.DateTime()", "sa.Date()"))
    if backend == "mariadb":
        applied(project, "db", "upgrade")
        assert probe_values(project) == [datetime.date(2026, 1, 31)]
    else:
        stderr = refused(project, "db", "upgrade")
        assert "changes probe.value from DATETIME to DATE, but 1 row holds values it would " \
               "not keep (id 1: '2026-01-31 00:00:00')" in stderr


def test_accepted_type_loss_is_kept_and_a_downgrade_puts_it_back(project):
    with_probe_table(project, ["sa.Column('value', sa.Numeric(10, 2), nullable=True)"],
                     [{"id": 1, "value": Decimal("3.75")}, {"id": 2, "value": Decimal("4.00")},
                      {"id": 3, "value": None}])
    project.add_revision("t1", "whole numbers", alter_type("sa.Numeric(10, 2)", "sa.Integer()"),
                         alter_type("sa.Integer()", "sa.Numeric(10, 2)"))
    result = project.manage("db", "upgrade", "--allow-data-loss")
    assert ("changes probe.value to INTEGER and sets them to NULL for 1 value it would not "
            "keep (id 1: ") in result.stderr
    assert "(kept: the reverse run puts it back)" in result.stderr
    assert [number(v) for v in probe_values(project)] == [None, 4, None]
    assert column_type(project, "probe", "value").startswith("INTEGER")
    kept = project.manage("db", "kept").stdout
    assert "original values of probe.value, 1 row(s)" in kept and "revision t1" in kept

    project.manage("db", "downgrade")
    assert [number(v) for v in probe_values(project)] == [Decimal("3.75"), 4, None]
    assert "Nothing is kept" in project.manage("db", "kept").stdout
    assert not any(t.startswith("alembic_keep") for t in project.database.tables())


def test_db_migrate_sees_an_enum_value_still_in_use_removed_on_both_backends(project):
    """SQLite stores an Enum as a plain VARCHAR, so autogenerate alone sees nothing; db migrate
    asks the rows, writes the change, and db upgrade refuses it while a row holds the value."""
    seed(project)
    question_id = ('    __tablename__ = "question"\n\n'
                   '    id = db.Column(db.Integer, primary_key=True)\n')
    state = ('    state = db.Column(db.Enum("open", "closed", "spam", name="question_state"), '
             'nullable=True)\n')
    edit_models(project, question_id, question_id + state)
    project.manage("db", "migrate", "-m", "question state")
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET state = 'open'")
    project.database.execute("UPDATE question SET state = 'spam' WHERE id = 3")

    edit_models(project, state, state.replace(', "spam"', ""))
    before = project.versions()
    project.manage("db", "migrate", "-m", "no spam state")
    (script,) = new_scripts(project, before)
    assert "type_=sa.Enum('open', 'closed', name='question_state')" in script
    stderr = refused(project, "db", "upgrade")
    assert ("changes question.state from " in stderr and
            "but 1 row holds values it would not keep (id 3: 'spam')" in stderr)

    project.database.execute("UPDATE question SET state = 'closed' WHERE id = 3")
    applied(project, "db", "upgrade")
    assert probe_values_of(project) == ["open", "open", "closed"]


def probe_values_of(project):
    return [row[0] for row in project.database.execute("SELECT state FROM question ORDER BY id")]
