#!/bin/sh
# Start the site: check the settings, bring the database to the newest revision, then serve
# it with gunicorn. Several containers may start at once: db upgrade holds a database-wide
# lock, so each revision runs exactly once and the others wait for it, then find nothing to do.
# `worker` starts the mail worker instead (docker run IMAGE worker [celery worker options]);
# other arguments that are not options run instead (docker run IMAGE python manage.py shell).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if [ "${1-}" = worker ]; then
    shift
    # exec: the worker gets the container's SIGTERM, finishes the mail in hand, then exits.
    exec "$PYTHON" manage.py worker "$@"
fi
if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

# gunicorn reads WEB_CONCURRENCY itself, with a traceback for anything but a number.
case "${WEB_CONCURRENCY-1}" in
    "" | *[!0-9]* | 0 | 00*)
        echo "Error: WEB_CONCURRENCY must be a whole number above 0, not '${WEB_CONCURRENCY}'" >&2
        exit 1 ;;
esac
# A bad setting stops the container before it touches the database.
"$PYTHON" -m gunicorn --check-config --config gunicorn.conf.py "$@" app:app
"$PYTHON" manage.py db upgrade
# exec: gunicorn becomes this process and gets the container's SIGTERM directly.
exec "$PYTHON" -m gunicorn --config gunicorn.conf.py "$@" app:app
