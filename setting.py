"""Configuration classes, chosen by the FLASK_CONFIG environment variable."""
import os

DEV_SECRET_KEY = "dev-only-secret-key-not-for-production"


class ConfigError(Exception):
    """A configuration problem the user must fix; its message is shown as one line."""


class Config:
    SECRET_KEY = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    # Relative SQLite paths live in instance/ (Flask-SQLAlchemy 3).
    SQLALCHEMY_DATABASE_URI = "sqlite:///app.db"
    QUESTIONS_PER_PAGE = 20

    @classmethod
    def init_app(cls, app):
        """Checks that need the final settings; run by create_app, never at import."""


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


def from_environment(environ=os.environ):
    """Settings that the environment overrides in every config."""
    settings = {}
    if environ.get("DATABASE_URL"):
        settings["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(environ["DATABASE_URL"])
    if environ.get("SECRET_KEY"):
        settings["SECRET_KEY"] = environ["SECRET_KEY"]
    return settings
