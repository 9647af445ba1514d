"""Configuration classes, chosen by the FLASK_CONFIG environment variable."""
import os
import secrets
import tempfile
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# The development key this project once committed: published, so never accepted in production.
PUBLISHED_DEV_KEY = "dev-only-secret-key-not-for-production"
# Development's own key, made once per checkout in instance/ (git-ignored).
DEV_SECRET_KEY_FILE = "secret_key"

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
    # MySQL/MariaDB: a change that copies a table with more rows than this (every write
    # waits until the copy ends) needs db upgrade --allow-table-copy.
    MIGRATION_TABLE_COPY_ROWS = 100_000
    ANSWERS_PER_PAGE = 20
    # Pages kept per worker for anonymous visitors (0: off), the longest any is reused, and how
    # often a worker asks the database whether questions or answers were added. Logged-in
    # users always get fresh pages, so posters see their own posts at once.
    PAGE_CACHE_SIZE = 512
    PAGE_CACHE_SECONDS = 5
    PAGE_CACHE_CHECK_SECONDS = 1

    # A login lasts while it is used: a session unused this long is refused (the cookie's signed
    # time is checked on every request). Long enough to type an answer over lunch, short enough
    # that a cookie left on a shared computer dies overnight.
    SESSION_IDLE_SECONDS = 12 * 3600
    # A request renews a session cookie signed longer ago than this (blueprints/sessions.py):
    # re-signing on every request cost a quarter of a logged-in page.
    SESSION_RENEW_SECONDS = 60
    # SQLite: how long a writer waits for another one to finish before "database is locked".
    SQLITE_BUSY_TIMEOUT = 15
    # python manage.py seed writes accounts with a published password: only where this is on.
    DEMO_DATA_ALLOWED = False

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SAMESITE = "Lax"
    # The largest legitimate post is a 10,000-character answer, percent-encoded: about 120 KiB.
    MAX_CONTENT_LENGTH = 512 * 1024

    # Flask-Mail's defaults would skip sending whenever TESTING is on; the tests read real mail.
    MAIL_SUPPRESS_SEND = False
    MAIL_DEBUG = False
    MAIL_DEFAULT_SENDER = "Q&A <noreply@localhost>"
    # True: write mail to the log instead of sending it (development without MAIL_SERVER).
    MAIL_CONSOLE = False
    # Every SMTP call (connect, each command) gives up after this many seconds, in the web
    # process and in the worker alike.
    MAIL_TIMEOUT = 10

    # With a broker (RabbitMQ: amqp://user:password@host:5672/vhost) the request only hands
    # the mail to the queue and a worker (python manage.py worker) sends it; without one the
    # web process sends it itself.
    CELERY_BROKER_URL = None
    MAIL_QUEUE = "mail"
    # How long a request waits for the broker to connect and to confirm that it holds the job.
    BROKER_TIMEOUT = 3
    # The worker retries a mail the SMTP server did not take after this many seconds, then
    # twice as long each time (at most MAIL_RETRY_MAX_DELAY), until the code expires.
    MAIL_RETRY_DELAY = 5
    MAIL_RETRY_MAX_DELAY = 60

    # plain: readable lines; json: one JSON object per line, for a log collector.
    LOG_FORMAT = "plain"
    LOG_LEVEL = "INFO"
    # Whether create_app sets up this process's logging (pytest collects records itself).
    CONFIGURE_LOGGING = True

    # werkzeug's scrypt at its full cost (N=32768): about 0.1-0.5 s of CPU a hash.
    PASSWORD_HASH_METHOD = "scrypt"

    # Limits (limits.py: shared by every worker through the database). A code is compared at
    # most CAPTCHA_MAX_ATTEMPTS times; a password at most LOGIN_MAX_FAILURES times per email
    # in LOGIN_WINDOW_SECONDS, until one is right.
    CAPTCHA_TTL_SECONDS = 10 * 60
    CAPTCHA_MAX_ATTEMPTS = 5
    LOGIN_MAX_FAILURES = 5
    LOGIN_WINDOW_SECONDS = 10 * 60
    # Code mails, as (how many, per seconds): one mailbox (case and +tags aside) gets one per
    # CAPTCHA_RESEND_SECONDS and CODE_MAILS_PER_MAILBOX in all; one client (its IP address, or
    # its /64 for IPv6) asks for CODE_MAILS_PER_CLIENT; the site sends CODE_MAILS_PER_SITE.
    CAPTCHA_RESEND_SECONDS = 60
    CODE_MAILS_PER_MAILBOX = (5, 3600)
    CODE_MAILS_PER_CLIENT = (10, 3600)
    CODE_MAILS_PER_SITE = (500, 3600)

    @classmethod
    def init_app(cls, app):
        """Checks that need the final settings; run by create_app, never at import."""
        configure_database(app)
        app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(
            seconds=app.config["SESSION_IDLE_SECONDS"])
        if app.config["SESSION_RENEW_SECONDS"] >= app.config["SESSION_IDLE_SECONDS"]:
            raise ConfigError("SESSION_RENEW_SECONDS must be below SESSION_IDLE_SECONDS: a "
                              "session in use would end before it is renewed")


class DevelopmentConfig(Config):
    DEBUG = True
    SQLALCHEMY_DATABASE_URI = "sqlite:///dev.db"
    DEMO_DATA_ALLOWED = True

    @classmethod
    def init_app(cls, app):
        # A newcomer can register without a mail server: the code is printed in the log.
        if not app.config.get("MAIL_SERVER"):
            app.config["MAIL_CONSOLE"] = True
        if not app.config.get("SECRET_KEY"):
            # Kept in instance/ so that sessions survive a restart; never a published value.
            app.config["SECRET_KEY"] = checkout_secret_key(app.instance_path)
        super().init_app(app)


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "testing-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite:///test.db"
    # Tests add rows and look at once: the cache must check the data version every time.
    PAGE_CACHE_CHECK_SECONDS = 0
    # Still scrypt, at a token cost (N=128, the least OpenSSL accepts with r=8): tests hash
    # hundreds of passwords. Production and development keep the full cost
    # (tests/test_models.py proves it).
    PASSWORD_HASH_METHOD = "scrypt:128:8:1"
    CONFIGURE_LOGGING = False
    DEMO_DATA_ALLOWED = True


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    LOG_FORMAT = "json"

    @classmethod
    def init_app(cls, app):
        key = app.config.get("SECRET_KEY")
        if not key or key == PUBLISHED_DEV_KEY:
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


def configure(app, config_name=None, settings=None):
    """Fill *app*.config as create_app does: the config class, the environment, *settings*,
    then the class's checks (ConfigError on a bad setting)."""
    config_class = get_config(config_name)
    app.config.from_object(config_class)
    app.config.update(from_environment())
    app.config.update(settings or {})
    config_class.init_app(app)


def check_environment(root_path):
    """ConfigError unless the app would start with this environment; for gunicorn's master,
    which must refuse at once rather than boot workers that die one after another."""
    from flask import Flask

    configure(Flask("app", root_path=root_path))


def checkout_secret_key(instance_path):
    """This checkout's development key: read from instance/secret_key, made there if absent."""
    path = os.path.join(instance_path, DEV_SECRET_KEY_FILE)
    try:
        if not os.path.exists(path):
            os.makedirs(instance_path, exist_ok=True)
            # Written aside, then linked into place: of two processes starting at once, one
            # key wins whole, and neither ever reads a half-written file.
            fd, draft = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
            try:
                with os.fdopen(fd, "w") as file:
                    file.write(secrets.token_hex(32) + "\n")
                os.link(draft, path)
            except FileExistsError:
                pass
            finally:
                os.unlink(draft)
        with open(path) as file:
            key = file.read().strip()
    except OSError as exc:
        raise ConfigError(f"cannot keep the development key in {path}: {exc.strerror} "
                          "(or set SECRET_KEY)") from None
    if not key:
        raise ConfigError(f"{path} is empty: delete it, and a new development key is made")
    return key


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
    if environ.get("CELERY_BROKER_URL"):
        settings["CELERY_BROKER_URL"] = broker_url(environ["CELERY_BROKER_URL"])
    if environ.get("MAIL_QUEUE"):
        settings["MAIL_QUEUE"] = environ["MAIL_QUEUE"].strip()
    for name in ("DATABASE_POOL_RECYCLE", "MIGRATION_LOCK_TIMEOUT", "MAIL_TIMEOUT",
                 "SESSION_IDLE_SECONDS", "SESSION_RENEW_SECONDS", "SQLITE_BUSY_TIMEOUT",
                 "BROKER_TIMEOUT", "MAIL_RETRY_DELAY", "MAIL_RETRY_MAX_DELAY"):
        if environ.get(name):
            settings[name] = _seconds(environ, name)
    if environ.get("MIGRATION_TABLE_COPY_ROWS"):
        value = environ["MIGRATION_TABLE_COPY_ROWS"].strip()
        if not value.isdigit():
            raise ConfigError(f"MIGRATION_TABLE_COPY_ROWS must be a whole number of rows (0 or "
                              f"more), not {value!r}")
        settings["MIGRATION_TABLE_COPY_ROWS"] = int(value)
    if environ.get("PAGE_CACHE_SIZE"):
        try:
            settings["PAGE_CACHE_SIZE"] = int(environ["PAGE_CACHE_SIZE"])
        except ValueError:
            raise ConfigError(f"PAGE_CACHE_SIZE must be a number, not {environ['PAGE_CACHE_SIZE']!r}") from None
    settings.update(mail_from_environment(environ))
    settings.update(logging_from_environment(environ))
    return settings


LOG_FORMATS = ("plain", "json")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def logging_from_environment(environ=os.environ):
    """LOG_FORMAT and LOG_LEVEL, when set, checked."""
    settings = {}
    value = environ.get("LOG_FORMAT", "").strip().lower()
    if value:
        if value not in LOG_FORMATS:
            raise ConfigError(f"LOG_FORMAT must be plain or json, not {environ['LOG_FORMAT']!r}")
        settings["LOG_FORMAT"] = value
    value = environ.get("LOG_LEVEL", "").strip().upper()
    if value:
        if value not in LOG_LEVELS:
            raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, "
                              f"not {environ['LOG_LEVEL']!r}")
        settings["LOG_LEVEL"] = value
    return settings


def log_settings(config_name=None, environ=os.environ):
    """LOG_FORMAT and LOG_LEVEL as create_app will set them, for processes without the app."""
    config_class = get_config(config_name or environ.get("FLASK_CONFIG"))
    settings = {"LOG_FORMAT": config_class.LOG_FORMAT, "LOG_LEVEL": config_class.LOG_LEVEL}
    settings.update(logging_from_environment(environ))
    return settings


BROKER_SCHEMES = ("amqp", "amqps", "pyamqp")


def broker_url(value):
    """A RabbitMQ URL, checked; never echoed in an error, since it may hold a password."""
    value = value.strip()
    scheme = urlsplit(value).scheme
    if scheme not in BROKER_SCHEMES:
        raise ConfigError(
            "CELERY_BROKER_URL must be a RabbitMQ URL (amqp://user:password@host:5672/vhost), "
            f"not {'a ' + scheme + ':// URL' if scheme else 'something without a scheme'}")
    return value


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
    # A ping on every checkout and a second rollback on return cost a read page half its
    # round trips: exts.configure_mysql pings idle connections and rolls back open ones.
    options.setdefault("pool_pre_ping", False)
    options.setdefault("pool_reset_on_return", None)
    options.setdefault("pool_recycle", app.config["DATABASE_POOL_RECYCLE"])
    options["connect_args"] = connect_args
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


MAIL_STRINGS = ("MAIL_SERVER", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_DEFAULT_SENDER")
MAIL_FLAGS = ("MAIL_USE_TLS", "MAIL_USE_SSL")


def mail_from_environment(environ=os.environ):
    """The MAIL_* variables that are set, converted to what Flask-Mail expects."""
    settings = {name: environ[name] for name in MAIL_STRINGS if environ.get(name)}
    for name in MAIL_FLAGS:
        value = environ.get(name, "").strip().lower()
        if value:
            if value not in BOOLEANS:
                raise ConfigError(f"{name} must be true or false, not {environ[name]!r}")
            settings[name] = BOOLEANS[value]
    if environ.get("MAIL_PORT"):
        try:
            settings["MAIL_PORT"] = int(environ["MAIL_PORT"])
        except ValueError:
            raise ConfigError(f"MAIL_PORT must be a number, not {environ['MAIL_PORT']!r}") from None
    return settings


BOOLEANS = {"1": True, "true": True, "yes": True, "on": True,
            "0": False, "false": False, "no": False, "off": False}
