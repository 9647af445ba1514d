"""Application factory, and the module-level ``app`` used by manage.py, ``flask`` and WSGI servers."""
import os
import sys

from flask import Flask

from exts import db, migrate
from migrating import status
from setting import ConfigError, from_environment, get_config


def create_app(config_name=None, settings=None):
    """Build the app for *config_name* (default: ``FLASK_CONFIG``), then apply *settings*."""
    app = Flask(__name__)
    config_class = get_config(config_name)
    app.config.from_object(config_class)
    app.config.update(from_environment())
    app.config.update(settings or {})
    config_class.init_app(app)

    register_extensions(app)
    register_blueprints(app)
    # Logs a warning at the first request if the database is behind the migrations.
    status.install(app)
    return app


def register_extensions(app):
    db.init_app(app)
    # Batch mode lets SQLite, which cannot ALTER most things, run every migration. It is on
    # for every database so that a script generated against MySQL also runs on SQLite
    # (on MySQL, batch operations are plain ALTER statements).
    # An absolute directory, so that manage.py works from any working directory.
    migrations = os.path.join(app.root_path, "migrations")
    migrate.init_app(app, db, directory=migrations, compare_type=True, render_as_batch=True)


def register_blueprints(app):
    from blueprints.health import bp as health_bp
    from blueprints.qa import bp as qa_bp

    app.register_blueprint(qa_bp)
    app.register_blueprint(health_bp)


try:
    app = create_app()
except ConfigError as exc:
    # One clear line for manage.py, flask and gunicorn alike, not a traceback.
    sys.exit(f"Error: {exc}")
