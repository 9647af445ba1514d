#!/usr/bin/env bash
# make test: the whole suite on SQLite, then on MariaDB when a server answers (required under CI).
set -u
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
ARTIFACTS="${TEST_ARTIFACTS:-tests/artifacts}"
mkdir -p "$ARTIFACTS"
rm -f "$ARTIFACTS"/junit-*.xml
status=0
results=()

run_suite() {
    local backend=$1
    shift
    rm -f "$ARTIFACTS/junit-$backend.xml"
    "$PYTHON" -m pytest --backend "$backend" --junitxml "$ARTIFACTS/junit-$backend.xml" "$@"
    local code=$?
    case $code in
        0) results+=("$backend: passed") ;;
        # pytest's "no tests collected" must not pass for a green run.
        5) results+=("$backend: FAILED, no test ran (pytest exit 5)"); status=1 ;;
        *) results+=("$backend: FAILED (pytest exit $code)"); status=1 ;;
    esac
}

run_suite sqlite "$@"
if "$PYTHON" -c 'import sys; from tests.backends import mariadb_available; sys.exit(not mariadb_available())'; then
    run_suite mariadb "$@"
elif [ "${CI:-}" = "true" ]; then
    results+=("mariadb: FAILED, no server answers on 127.0.0.1:3306 and CI requires one")
    status=1
else
    results+=("mariadb: NOT RUN, no server answers on 127.0.0.1:3306 (start one to run the whole suite)")
fi

echo
printf '%s\n' "${results[@]}"
# One closing line over both runs, counted from pytest's own reports.
"$PYTHON" - "$ARTIFACTS"/junit-*.xml <<'PY'
import sys
import xml.etree.ElementTree as ET

passed = failed = skipped = 0
for path in sys.argv[1:]:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError):
        continue
    for suite in root.iter("testsuite"):
        total, skip = int(suite.get("tests", 0)), int(suite.get("skipped", 0))
        bad = int(suite.get("failures", 0)) + int(suite.get("errors", 0))
        passed, failed, skipped = passed + total - skip - bad, failed + bad, skipped + skip
print(f"total: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit $status
