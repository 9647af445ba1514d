"""gunicorn settings for bench/web: the same for the app and hello, with no access log."""
# Passed with -c so that the project's gunicorn.conf.py (access log on stdout, workers from
# the environment) does not apply to the app alone and skew the comparison.
accesslog = None
loglevel = "warning"
