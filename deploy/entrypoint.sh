#!/bin/sh
# Start the site: bring the database to the newest revision, then serve it with gunicorn.
# Several containers may start at once: db upgrade holds a database-wide lock, so each
# revision runs exactly once and the others wait for it, then find nothing left to do.
# Arguments that are not options run instead (docker run IMAGE python manage.py shell).
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python}"

if [ "$#" -gt 0 ] && [ "${1#-}" = "$1" ]; then
    exec "$@"
fi

"$PYTHON" manage.py db upgrade
# exec: gunicorn becomes this process and gets the container's SIGTERM directly.
exec "$PYTHON" -m gunicorn --config gunicorn.conf.py "$@" app:app
