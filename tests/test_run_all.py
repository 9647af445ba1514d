"""make test's runner: one run over both backends; no test, a failure or a missing server fail it.

Most cases run the runner on a small test file of their own (no database fixtures to load);
one runs a real test of the suite on both backends.
"""
import os
import subprocess
import sys

import pytest

from tests.cli import ROOT

BOTH_BACKENDS_TEST = "tests/test_pending.py::test_the_check_does_not_change_the_database"
NO_SERVER = "mysql+pymysql://root@127.0.0.1:9/"
NO_BROKER = "amqp://guest:guest@127.0.0.1:9//"
NOT_RUN = ("mariadb: NOT RUN, no server answers on 127.0.0.1:3306 (start one to run the whole "
           "suite)")
BROKER_NOT_RUN = ("rabbitmq: NOT RUN, no broker answers on 127.0.0.1:9 (start one to run the "
                  "whole suite)")
# A database test on each backend (as the suite's `backend` fixture makes them), one that needs
# the broker and one that needs nothing.
SAMPLE = """
import pytest

@pytest.mark.parametrize("backend", ["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)])
def test_database(backend):
    assert backend

@pytest.mark.rabbitmq
def test_queue():
    assert True

def test_no_database():
    assert 1 + 1 == {two}
"""


def run_all(tmp_path, *args, **env):
    """tests/run_all.sh as make test runs it, with one worker, no coverage and no pytest-alembic
    (unless *env* asks for it); the servers are the ones *env* names (TEST_MARIADB_URL,
    TEST_RABBITMQ_URL), else the default ones."""
    base = {k: v for k, v in os.environ.items()
            if k not in ("CI", "TEST_MARIADB_URL", "TEST_RABBITMQ_URL")
            and not k.startswith("COV")}
    base.update(PYTHON=sys.executable, TEST_ARTIFACTS=str(tmp_path / "artifacts"),
                TEST_WORKERS="0", TEST_COVERAGE="0", TEST_ALEMBIC="0")
    base.update(env)
    return subprocess.run(["tests/run_all.sh", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=300)


def sample(tmp_path, two=2):
    path = tmp_path / "test_sample.py"
    path.write_text(SAMPLE.format(two=two))
    return str(path)


def summary(result):
    """The closing lines: one per backend, the total, then the notes."""
    closing = result.stdout.strip().splitlines()
    start = next(i for i, line in enumerate(closing) if line.startswith("sqlite: "))
    return closing[start:]


def test_without_the_servers_under_ci_the_run_fails(tmp_path):
    result = run_all(tmp_path, sample(tmp_path), CI="true", TEST_MARIADB_URL=NO_SERVER,
                     TEST_RABBITMQ_URL=NO_BROKER)
    assert result.returncode == 1
    assert summary(result) == [
        "sqlite: 1 passed, 0 failed, 0 skipped",
        "mariadb: 0 passed, 0 failed, 0 skipped",
        "no database: 1 passed, 0 failed, 0 skipped",
        "total: 2 passed, 0 failed, 0 skipped",
        "mariadb: FAILED, no server answers on 127.0.0.1:3306 and CI requires one",
        "rabbitmq: FAILED, no broker answers on 127.0.0.1:9 and CI requires one",
    ]


def test_without_the_servers_outside_ci_the_rest_passes_and_says_so(tmp_path):
    result = run_all(tmp_path, sample(tmp_path), TEST_MARIADB_URL=NO_SERVER,
                     TEST_RABBITMQ_URL=NO_BROKER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == [
        "sqlite: 1 passed, 0 failed, 0 skipped",
        "mariadb: 0 passed, 0 failed, 0 skipped",
        "no database: 1 passed, 0 failed, 0 skipped",
        "total: 2 passed, 0 failed, 0 skipped",
        NOT_RUN,
        BROKER_NOT_RUN,
    ]


@pytest.mark.rabbitmq  # needs the broker
def test_with_a_broker_its_tests_run(tmp_path):
    result = run_all(tmp_path, sample(tmp_path), TEST_MARIADB_URL=NO_SERVER)
    assert result.returncode == 0, result.stdout + result.stderr
    assert summary(result) == [
        "sqlite: 1 passed, 0 failed, 0 skipped",
        "mariadb: 0 passed, 0 failed, 0 skipped",
        "no database: 2 passed, 0 failed, 0 skipped",
        "total: 3 passed, 0 failed, 0 skipped",
        NOT_RUN,
    ]


def test_a_run_that_collects_no_test_fails(tmp_path):
    result = run_all(tmp_path, sample(tmp_path), "-k", "no_test_has_this_name",
                     TEST_MARIADB_URL=NO_SERVER, TEST_RABBITMQ_URL=NO_BROKER)
    assert result.returncode == 1
    assert summary(result)[-4:] == ["total: 0 passed, 0 failed, 0 skipped", NOT_RUN,
                                    BROKER_NOT_RUN, "FAILED: no test ran (pytest exit 5)"]


def test_a_failing_test_fails_the_run(tmp_path):
    result = run_all(tmp_path, sample(tmp_path, two=3), TEST_MARIADB_URL=NO_SERVER,
                     TEST_RABBITMQ_URL=NO_BROKER)
    assert result.returncode == 1
    assert "assert (1 + 1) == 3" in result.stdout
    assert summary(result) == [
        "sqlite: 1 passed, 0 failed, 0 skipped",
        "mariadb: 0 passed, 0 failed, 0 skipped",
        "no database: 0 passed, 1 failed, 0 skipped",
        "total: 1 passed, 1 failed, 0 skipped",
        NOT_RUN,
        BROKER_NOT_RUN,
        "FAILED: pytest exit 1",
    ]


@pytest.mark.mariadb  # needs the server
@pytest.mark.rabbitmq  # under CI, the run wants the broker too
def test_with_a_server_each_database_test_and_pytest_alembic_run_on_both_backends(tmp_path):
    result = run_all(tmp_path, BOTH_BACKENDS_TEST, CI="true", TEST_ALEMBIC="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert sorted(p.name for p in (tmp_path / "artifacts").iterdir()) == [
        "junit-alembic-mariadb.xml", "junit-alembic-sqlite.xml", "junit.xml"]
    # One test of the suite, and pytest-alembic's five; downgrade_leaves_no_trace cannot
    # pass on MySQL (its DDL commits itself) and says so.
    assert summary(result) == ["sqlite: 6 passed, 0 failed, 0 skipped",
                               "mariadb: 5 passed, 0 failed, 1 skipped",
                               "no database: 0 passed, 0 failed, 0 skipped",
                               "total: 11 passed, 0 failed, 1 skipped"]
