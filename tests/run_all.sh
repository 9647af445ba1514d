#!/usr/bin/env bash
# make test: the whole suite in one pytest run over every core (pytest-xdist), each test that
# uses a database on SQLite and on MariaDB, then line and branch coverage; then
# pytest-alembic's tests (tests_alembic/) on each backend, and a summary.
# A MariaDB server or a RabbitMQ broker that does not answer is a failure under CI (CI=true);
# elsewhere its tests are left out and the summary says so. Settings: TEST_WORKERS (processes,
# default: one per core; 0 runs in this process), TEST_COVERAGE=0 (no coverage),
# TEST_ALEMBIC=0 (no tests_alembic/), TEST_ARTIFACTS (junit xml).
set -u
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
ARTIFACTS="${TEST_ARTIFACTS:-tests/artifacts}"
WORKERS="${TEST_WORKERS:-auto}"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/junit*.xml
status=0
notes=()
backends=(sqlite mariadb)

args=(--junitxml "$ARTIFACTS/junit.xml")
if [ "$WORKERS" != 0 ]; then
    args+=(-n "$WORKERS")
fi
if [ "${TEST_COVERAGE:-1}" != 0 ]; then
    args+=(--cov --cov-report=term:skip-covered)
fi
# A server that does not answer: run what does not need it, so the other failures show too.
left_out=()
absent() {  # marker, what does not answer, where it was asked
    left_out+=("not $1")
    if [ "${CI:-}" = "true" ]; then
        notes+=("$1: FAILED, no $2 answers on $3 and CI requires one")
        status=1
    else
        notes+=("$1: NOT RUN, no $2 answers on $3 (start one to run the whole suite)")
    fi
}
if ! "$PYTHON" -c 'import sys; from tests.backends import mariadb_available; sys.exit(not mariadb_available())'; then
    absent mariadb server 127.0.0.1:3306
    backends=(sqlite)
fi
# Prints where the broker is; fails when it does not answer.
broker_check='import sys
from tests.queue_support import RABBITMQ_ADDRESS, rabbitmq_available
print(RABBITMQ_ADDRESS)
sys.exit(not rabbitmq_available())'
if ! broker=$("$PYTHON" -c "$broker_check"); then
    absent rabbitmq broker "$broker"
fi
if [ ${#left_out[@]} -gt 0 ]; then
    marks="${left_out[0]}"
    for mark in "${left_out[@]:1}"; do
        marks="$marks and $mark"
    done
    args+=(-m "$marks")
fi

"$PYTHON" -m pytest "${args[@]}" "$@"
code=$?
case $code in
    0) ;;
    # pytest's "no tests collected" must not pass for a green run.
    5) notes+=("FAILED: no test ran (pytest exit 5)"); status=1 ;;
    *) notes+=("FAILED: pytest exit $code"); status=1 ;;
esac

if [ "${TEST_ALEMBIC:-1}" != 0 ]; then
    for backend in "${backends[@]}"; do
        "$PYTHON" -m pytest -c tests_alembic/pytest.ini tests_alembic -q -p no:cacheprovider \
            --alembic-backend "$backend" --junitxml "$ARTIFACTS/junit-alembic-$backend.xml" \
            || { notes+=("FAILED: pytest-alembic on $backend"); status=1; }
    done
fi

echo
# One line per backend and one over the run, counted from pytest's own reports.
"$PYTHON" - "$ARTIFACTS"/junit*.xml <<'PY'
import re
import sys
import xml.etree.ElementTree as ET

counts = {name: [0, 0, 0] for name in ("sqlite", "mariadb", "no database")}
cases = []
for path in sys.argv[1:]:
    # tests_alembic/ runs once per backend, named in its report's file name.
    backend = re.search(r"junit-alembic-(sqlite|mariadb)\.xml$", path)
    try:
        cases += [(case, backend and backend.group(1))
                  for case in ET.parse(path).getroot().iter("testcase")]
    except (OSError, ET.ParseError):
        pass
for case, backend in cases:
    match = re.search(r"\[(sqlite|mariadb)\b", case.get("name", ""))
    tally = counts[backend or (match.group(1) if match else "no database")]
    outcome = {child.tag for child in case}
    if outcome & {"failure", "error"}:
        tally[1] += 1
    elif "skipped" in outcome:
        tally[2] += 1
    else:
        tally[0] += 1
for name, (passed, failed, skipped) in counts.items():
    print(f"{name}: {passed} passed, {failed} failed, {skipped} skipped")
passed, failed, skipped = (sum(c[i] for c in counts.values()) for i in range(3))
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
PY
for note in "${notes[@]}"; do
    echo "$note"
done
exit $status
