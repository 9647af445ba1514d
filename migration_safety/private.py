"""The only private Alembic/SQLAlchemy names migration safety uses, each with why."""
# tests/test_safety_private.py runs ``canary()``: it fails loudly when an upgrade of Alembic or
# SQLAlchemy removes or reshapes one of these, instead of the safety layer quietly doing less.

import contextlib
import inspect

import alembic.op
from alembic.autogenerate import render as _render
from alembic.ddl.impl import DefaultImpl
from sqlalchemy import Column
from sqlalchemy import column as sa_column
from sqlalchemy import table as sa_table


@contextlib.contextmanager
def intercepted_exec(impl, interceptor):
    """Route every statement Alembic's *impl* sends through ``interceptor(run, construct,
    *args, **kwargs)``.

    Why private: resuming a half-applied revision on MySQL must *skip* the statements an
    earlier run applied. Cursor events (public) can watch a statement but cannot skip it,
    and ``impl._exec`` is the one door every operation, batch or not, goes through.
    """
    original = impl._exec

    def run(construct, *args, **kwargs):
        return interceptor(original, construct, *args, **kwargs)

    impl._exec = run
    try:
        yield
    finally:
        impl._exec = original


@contextlib.contextmanager
def installed_op(operations):
    """Make the module-level ``alembic.op`` (what revision scripts call) forward to
    *operations* for a dry run, then restore whatever it forwarded to before.

    Why private: ``Operations.context()`` always builds a plain ``Operations`` and removes
    the proxy afterwards instead of restoring the one a running migration had installed.
    """
    saved = alembic.op.__dict__.get("_proxy")
    alembic.op._proxy = operations
    try:
        yield
    finally:
        alembic.op._proxy = saved


def render_type(type_, autogen_context):
    """A type as autogenerate writes it in a script (``sa.String(length=20)``)."""
    return _render._repr_type(type_, autogen_context)


def op_prefix(autogen_context):
    """``op.`` or whatever prefix the environment configured for operations."""
    return _render._alembic_autogenerate_prefix(autogen_context)


def copy_column(column):
    """A detached copy of a Column (``Column.copy()`` is deprecated for ``_copy()``)."""
    return column._copy()


def update_values(statement):
    """{column key: value} an ``update().values(...)`` sets (no public accessor)."""
    return dict(getattr(statement, "_values", None) or {})


def type_affinity(type_):
    """The class SQLAlchemy groups a type under (String, Integer, Numeric...): the very test
    alembic's SQLite batch rebuild uses to decide whether a column is copied with CAST."""
    return type_._type_affinity


def canary():
    """Every private name above that is missing or changed; empty when all is well."""
    problems = []
    if "_exec" not in vars(DefaultImpl) or list(
            inspect.signature(DefaultImpl._exec).parameters)[:3] != ["self", "construct",
                                                                      "execution_options"]:
        problems.append("alembic.ddl.impl.DefaultImpl._exec(self, construct, "
                        "execution_options, ...)")
    if "_proxy" not in alembic.op.add_column.__code__.co_names:
        problems.append("alembic.op.<function> forwarding to the module global _proxy")
    for name in ("_repr_type", "_alembic_autogenerate_prefix"):
        if not callable(getattr(_render, name, None)):
            problems.append(f"alembic.autogenerate.render.{name}")
    if not callable(getattr(Column, "_copy", None)):
        problems.append("sqlalchemy.Column._copy")
    probe = sa_table("t", sa_column("c")).update().values(c=1)
    if [getattr(key, "key", key) for key in update_values(probe)] != ["c"]:
        problems.append("sqlalchemy.sql.dml.ValuesBase._values")
    from sqlalchemy import Integer, String, Text
    if not (type_affinity(Text()) is type_affinity(String(5)) is not type_affinity(Integer())):
        problems.append("sqlalchemy.types.TypeEngine._type_affinity")
    from alembic.ddl.sqlite import SQLiteImpl
    if "_type_affinity" not in inspect.getsource(SQLiteImpl.cast_for_batch_migrate):
        problems.append("alembic's SQLite batch CAST no longer decided by _type_affinity")
    return problems
