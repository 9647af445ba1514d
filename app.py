"""Application factory, and the module-level ``app`` used by manage.py, ``flask`` and WSGI servers."""
import os
import sys

from flask import Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

import logging_config
from exts import configure_mysql, configure_sqlite, csrf, db, mail, mail_queue, migrate
from blueprints import pagecache, templating
from blueprints.sessions import CookieSessions
from migration_safety import status
from setting import ConfigError, configure

# Everything the pages load comes from this site: Bootstrap is vendored under static/, and no
# template has inline script or style. Bootstrap's CSS draws some icons from data: URIs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def create_app(config_name=None, settings=None):
    """Build the app for *config_name* (default: ``FLASK_CONFIG``), then apply *settings*."""
    app = Flask(__name__)
    configure(app, config_name, settings)

    # First: its request hooks run before and after every other extension's.
    logging_config.init_app(app)
    register_extensions(app)
    register_blueprints(app)
    app.session_interface = CookieSessions()
    templating.init_app(app)
    register_errorhandlers(app)
    register_security_headers(app)
    # Logs a warning at the first request if the database is behind the migrations.
    status.install(app)
    # Last: outermost, it answers stored pages before any of the above runs.
    pagecache.install(app)
    return app


def register_extensions(app):
    db.init_app(app)
    configure_sqlite(app)
    configure_mysql(app)
    # Batch mode lets SQLite, which cannot ALTER most things, run every migration. It is on
    # for every database so that a script generated against MySQL also runs on SQLite
    # (on MySQL, batch operations are plain ALTER statements).
    # An absolute directory, so that manage.py works from any working directory.
    migrations = os.path.join(app.root_path, "migrations")
    migrate.init_app(app, db, directory=migrations, compare_type=True, render_as_batch=True)
    csrf.init_app(app)
    mail.init_app(app)
    mail_queue.init_app(app)


def register_blueprints(app):
    from blueprints.auth import bp as auth_bp
    from blueprints.health import bp as health_bp
    from blueprints.qa import bp as qa_bp

    app.register_blueprint(auth_bp)
    app.register_blueprint(qa_bp)
    app.register_blueprint(health_bp)


# Addresses that always answer JSON, errors included (CSRF failures, 405, 413), for their scripts.
JSON_PATHS = {"/auth/captcha/email"}


def wants_json():
    return request.path in JSON_PATHS or request.accept_mimetypes.best == "application/json"


def register_errorhandlers(app):
    def render_error(error):
        if error.code >= 500:
            # Whatever failed may have left the session mid-transaction.
            db.session.rollback()
        if wants_json():
            response = jsonify(code=error.code, message=error.description)
        else:
            response = app.make_response(
                (render_template("error.html", error=error), error.code))
        # Keeps Retry-After on 429 and Allow on 405.
        for name, value in error.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        response.status_code = error.code
        return response

    # Flask hands unhandled exceptions to this handler too, as InternalServerError.
    app.register_error_handler(HTTPException, render_error)


def register_security_headers(app):
    headers = dict(SECURITY_HEADERS)
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers["Strict-Transport-Security"] = "max-age=31536000"
    by_key = [(name.lower(), name, value) for name, value in headers.items()]

    @app.after_request
    def add_security_headers(response):
        # Those a view did not set itself; one pass over the headers, not one per name.
        present = set(response.headers.keys(lower=True))
        response.headers.extend(
            [(name, value) for key, name, value in by_key if key not in present])
        return response


try:
    app = create_app()
except ConfigError as exc:
    # One clear line for manage.py, flask and gunicorn alike, not a traceback.
    sys.exit(f"Error: {exc}")
