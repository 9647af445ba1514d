"""Supply the three things Flask-Script 2.0.6 needs that today's Flask and Python removed.

Import this module before ``flask_script`` *and* before ``flask_migrate``: Flask-Migrate 2.x
imports Flask-Script inside ``try/except ImportError`` and, when that import fails, silently
replaces ``MigrateCommand`` with a do-nothing stand-in. ``manage.py`` imports it first.

What is supplied, and only when missing:

* ``flask._compat`` with ``text_type`` (removed in Flask 2.0; Flask-Script reads it at import).
* ``flask._request_ctx_stack`` (removed in Flask 3.0). Flask-Script's only use is the default
  shell context ``_request_ctx_stack.top.app``; the stand-in answers ``.top`` from Flask's
  request context variable, ``None`` outside a request, as the old stack did.
* ``inspect.getargspec`` (removed in Python 3.11), which ``@manager.command`` uses to turn a
  function's arguments into command-line options.
"""
import inspect
import sys
import types
from collections import namedtuple

import flask
from flask import globals as flask_globals


class _RequestContextStack:
    """Read-only stand-in for Flask's old ``_request_ctx_stack``: only ``.top`` is provided."""

    @property
    def top(self):
        return flask_globals._cv_request.get(None)


ArgSpec = namedtuple("ArgSpec", "args varargs keywords defaults")


def _getargspec(func):
    spec = inspect.getfullargspec(func)
    return ArgSpec(spec.args, spec.varargs, spec.varkw, spec.defaults)


def install():
    """Install the stand-ins; safe to call more than once."""
    if "flask._compat" not in sys.modules:
        flask_compat = types.ModuleType("flask._compat", "Stand-in supplied by compat.py")
        flask_compat.text_type = str
        flask_compat.string_types = (str,)
        sys.modules["flask._compat"] = flask_compat
        flask._compat = flask_compat
    if "_request_ctx_stack" not in vars(flask):
        flask._request_ctx_stack = _RequestContextStack()
    if not hasattr(inspect, "getargspec"):
        inspect.getargspec = _getargspec

    flask_migrate = sys.modules.get("flask_migrate")
    if flask_migrate is not None and getattr(flask_migrate, "Manager", None) is None:
        raise ImportError(
            "flask_migrate was imported before compat, so its MigrateCommand is a stub: "
            "import compat first"
        )


install()
