"""pytest-alembic's built-in tests, and its experimental downgrade_leaves_no_trace on SQLite."""
# Imported rather than auto-collected: pytest-alembic 0.13.1's collector fails under pytest 9
# (``TestCollector`` has no ``_nodeid``), and importing the test functions is the way its
# documentation gives for running them from a test module of one's own.

import pytest
from pytest_alembic.tests import (  # noqa: F401  (collected by pytest under these names)
    test_model_definitions_match_ddl,
    test_single_head_revision,
    test_up_down_consistency,
    test_upgrade,
)
from pytest_alembic.tests.experimental import test_downgrade_leaves_no_trace as _no_trace


def test_downgrade_leaves_no_trace(alembic_runner, alembic_engine):
    if alembic_engine.dialect.name != "sqlite":
        # It wraps each step in a savepoint and rolls it back; MySQL's DDL commits itself,
        # so no env.py can pass it there.
        pytest.skip("sqlite only: MySQL DDL cannot be rolled back to a savepoint")
    _no_trace(alembic_runner)
