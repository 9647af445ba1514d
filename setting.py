"""Configuration classes, chosen by the FLASK_CONFIG environment variable."""
import os

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"

# TRADITIONAL is strict mode on both MySQL 8 and MariaDB: an over-long or invalid value is an
# error instead of being silently truncated or zeroed, whatever the server's own default is.
MYSQL_SQL_MODE = "TRADITIONAL"


class ConfigError(Exception):
    """A configuration problem the user must fix; its message is shown as one line."""


class Config:
    SECRET_KEY = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Relative SQLite paths live in instance/ (Flask-SQLAlchemy 3).
    SQLALCHEMY_DATABASE_URI = "sqlite:///app.db"
    QUESTIONS_PER_PAGE = 20
    # MySQL closes connections idle longer than its wait_timeout (8 hours by default, often
    # minutes on hosted servers, and proxies or NAT may drop them after about 5 minutes):
    # renew pooled connections before any of those, and ping before each checkout anyway.
    DATABASE_POOL_RECYCLE = 280
    # How long db upgrade/downgrade/stamp wait for another one to finish before giving up.
    MIGRATION_LOCK_TIMEOUT = 300

    @classmethod
    def init_app(cls, app):
        """Checks that need the final settings; run by create_app, never at import."""
        configure_database(app)


class DevelopmentConfig(Config):
    DEBUG = True
    # A fixed value so that sessions survive a restart; production must set its own.
    SECRET_KEY = DEV_SECRET_KEY
    SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite:///test.db"


class ProductionConfig(Config):
    @classmethod
    def init_app(cls, app):
        key = app.config.get("SECRET_KEY")
        if not key or key == DEV_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is not set: production refuses to start without it "
                "(make one with: python -c 'import secrets; print(secrets.token_hex(32))')"
            )
        super().init_app(app)


config = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
    "default": DevelopmentConfig,
}


def get_config(name=None):
    """The config class for *name* (``FLASK_CONFIG`` when None); ConfigError if unknown."""
    name = name or os.environ.get("FLASK_CONFIG") or "default"
    try:
        return config[name]
    except KeyError:
        choices = ", ".join(sorted(config))
        raise ConfigError(f"unknown FLASK_CONFIG {name!r}: choose one of {choices}") from None


def normalize_database_url(url):
    """Tutorials write ``mysql://``; point it at the PyMySQL driver we ship."""
    if url.startswith("mysql://"):
        return "mysql+pymysql://" + url[len("mysql://"):]
    return url


def _seconds(environ, name):
    value = environ[name].strip()
    if not value.isdigit() or int(value) <= 0:
        raise ConfigError(f"{name} must be a whole number of seconds above 0, not {value!r}")
    return int(value)


def from_environment(environ=os.environ):
    """Settings that the environment overrides in every config."""
    settings = {}
    if environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(environ["DATABASE_URL"])
    if environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = environ["SECRET_KEY"]
    for name in ("DATABASE_POOL_RECYCLE", "MIGRATION_LOCK_TIMEOUT"):
        if environ.get(name):
            settings[name] = _seconds(environ, name)
    return settings


def configure_database(app):
    """On MySQL/MariaDB: utf8mb4, strict SQL mode, and a pool that survives idle timeouts."""
    try:
        url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    except ArgumentError:
        return  # Flask-SQLAlchemy reports a malformed URL when the engine is made
    if url.get_backend_name() not in ("mysql", "mariadb"):
        return
    charset = url.query.get("charset")
    if charset is None:
        # Without it PyMySQL talks utf8mb3 on some servers, and emoji cannot be stored.
        url = url.update_query_dict({"charset": "utf8mb4"})
        app.config["SQLALCHEMY_DATABASE_URI"] = url.render_as_string(hide_password=False)
    elif charset != "utf8mb4":
        raise ConfigError(
            f"DATABASE_URL asks for charset={charset}: use charset=utf8mb4, the only MySQL "
            "character set that stores all of Unicode (Chinese text, emoji)"
        )
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    connect_args = dict(options.get("connect_args") or {})
    connect_args.setdefault("init_command", f"SET SESSION sql_mode = '{MYSQL_SQL_MODE}'")
    connect_args.setdefault("connect_timeout", 10)
    options.setdefault("pool_pre_ping", True)
    options.setdefault("pool_recycle", app.config["DATABASE_POOL_RECYCLE"])
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
