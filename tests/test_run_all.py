"""make test's runner: both backends, and a run that tested nothing or skipped MariaDB fails."""
import os
import subprocess
import sys

import pytest

from tests.backends import mariadb_available
from tests.conftest import ROOT

QUICK_TEST = "tests/test_config.py::test_unknown_config_name_is_a_config_error"
NO_SERVER = "mysql+pymysql://root@127.0.0.1:9/"


def run_all(tmp_path, *args, **env):
    base = {k: v for k, v in os.environ.items() if k not in ("CI", "TEST_MARIADB_URL")}
    base.update(PYTHON=sys.executable, TEST_ARTIFACTS=str(tmp_path / "artifacts"), **env)
    return subprocess.run(["tests/run_all.sh", "-q", "-p", "no:cacheprovider", *args],
                          cwd=ROOT, env=base, capture_output=True, text=True, timeout=300)


def closing_lines(result):
    return result.stdout.strip().splitlines()[-3:]


def test_without_a_server_under_ci_the_run_fails(tmp_path):
    result = run_all(tmp_path, QUICK_TEST, CI="true", TEST_MARIADB_URL=NO_SERVER)
    assert result.returncode == 1
    assert closing_lines(result) == [
        "sqlite: passed",
        "mariadb: FAILED, no server answers on 127.0.0.1:3306 and CI requires one",
        "total: 1 passed, 0 failed, 0 skipped",
    ]


def test_without_a_server_outside_ci_the_sqlite_half_passes_and_says_so(tmp_path):
    result = run_all(tmp_path, QUICK_TEST, TEST_MARIADB_URL=NO_SERVER)
    assert result.returncode == 0
    assert "mariadb: NOT RUN, no server answers on 127.0.0.1:3306" in result.stdout


def test_a_run_that_collects_no_test_fails(tmp_path):
    result = run_all(tmp_path, "-k", "no_test_has_this_name", TEST_MARIADB_URL=NO_SERVER)
    assert result.returncode == 1
    assert "sqlite: FAILED, no test ran (pytest exit 5)" in result.stdout
    assert closing_lines(result)[-1] == "total: 0 passed, 0 failed, 0 skipped"


def test_a_failing_test_fails_the_run(tmp_path):
    result = run_all(tmp_path, QUICK_TEST, "--backend", "nosuchbackend",
                     TEST_MARIADB_URL=NO_SERVER)
    assert result.returncode == 1
    assert "sqlite: FAILED (pytest exit 4)" in result.stdout


def test_with_a_server_both_backends_run(tmp_path):
    if not mariadb_available():
        pytest.skip("needs the MariaDB server on 127.0.0.1:3306")
    result = run_all(tmp_path, QUICK_TEST, CI="true")
    assert result.returncode == 0, result.stdout + result.stderr
    for backend in ("sqlite", "mariadb"):
        assert (tmp_path / "artifacts" / f"junit-{backend}.xml").exists()
    assert closing_lines(result) == ["sqlite: passed", "mariadb: passed",
                                     "total: 2 passed, 0 failed, 0 skipped"]
