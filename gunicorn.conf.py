"""Gunicorn settings from the environment: gunicorn -c gunicorn.conf.py app:app."""
import multiprocessing
import os
import sys

# gunicorn reads this file before it puts the project on sys.path (with --chdir, for one).
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import logging_config  # noqa: E402
from setting import ConfigError, check_environment, from_environment, log_settings  # noqa: E402


def _whole_number(name, default):
    value = os.environ.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        # gunicorn would print a traceback for a ValueError raised here.
        sys.exit(f"Error: {name} must be a whole number above 0, not {value!r}")
    return int(value)


# All interfaces: in a container the published port reaches only this one.
bind = os.environ.get("GUNICORN_BIND") or f"0.0.0.0:{_whole_number('PORT', 8000)}"
# gunicorn's rule of thumb, 2 per core + 1, capped: each worker keeps its own pool of
# database connections, and a small MySQL server allows only 151 in all.
workers = _whole_number("WEB_CONCURRENCY", min(2 * multiprocessing.cpu_count() + 1, 8))
threads = _whole_number("GUNICORN_THREADS", 1)
timeout = _whole_number("GUNICORN_TIMEOUT", 30)
# Requests in flight get this long to finish on a deploy's SIGTERM.
graceful_timeout = 30
# Behind a load balancer that keeps connections open for a while.
keepalive = 5
# gunicorn's own lines go through logging_config.py like the app's (JSON in production). Its
# access log is off there: the app logs each request itself, with its request id and duration.
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOGLEVEL", "info")
try:
    # The whole configuration, as each worker will build it: a missing SECRET_KEY stops the
    # master here, instead of workers that exit one after another while the port stays open.
    check_environment(os.path.dirname(os.path.abspath(__file__)))
    _log = log_settings()
    _secrets = logging_config.secrets_in(from_environment())
except ConfigError as exc:
    sys.exit(f"Error: {exc}")
logconfig_dict = logging_config.gunicorn_dict_config(_log["LOG_FORMAT"], _log["LOG_LEVEL"],
                                                     _secrets)
# The workers' heartbeat files; Docker's overlay disk can stall them (gunicorn's FAQ).
if os.path.isdir("/dev/shm"):
    worker_tmp_dir = "/dev/shm"
# gunicorn's control socket defaults to one path per user ($HOME/.gunicorn): two servers on
# one host would fight over it, and a container's user may have no home to put it in.
control_socket_disable = True
# Trust X-Forwarded-* only from the proxy in front (set it to that proxy's address).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
