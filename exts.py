"""Extension objects, created unbound and initialised by app.create_app."""
import sqlite3
import time

from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, Table, event, exc

from mailqueue.extension import MailQueue

# Named constraints: SQLite batch migrations and every later drop_constraint need names.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# On MySQL/MariaDB every table is transactional and stores all of Unicode, whatever the
# server's or the database's defaults are. SQLite ignores these options.
MYSQL_TABLE_OPTIONS = {
    "mysql_engine": "InnoDB",
    "mysql_charset": "utf8mb4",
    "mysql_collate": "utf8mb4_unicode_ci",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=NAMING_CONVENTION))
migrate = Migrate()
csrf = CSRFProtect()
mail = Mail()
# The Celery app of the mail queue (a leaf module: it imports no model and no blueprint).
mail_queue = MailQueue()


@event.listens_for(Table, "after_parent_attach")
def _mysql_table_options(table, parent):
    # Added to every model's table, so autogenerate writes them into each new create_table;
    # a model's own __table_args__ still win.
    if parent is db.metadata:
        for key, value in MYSQL_TABLE_OPTIONS.items():
            table.dialect_kwargs.setdefault(key, value)


def configure_sqlite(app):
    """The one place that sets up the app's SQLite connections for a web server.

    Each new connection: enforces foreign keys, as MySQL does (SQLite checks them only on
    connections that ask); uses the write-ahead log, so readers never block the writer nor
    the writer readers; waits SQLITE_BUSY_TIMEOUT seconds for another writer instead of
    failing with "database is locked"; and opens every write transaction with BEGIN IMMEDIATE
    (pysqlite's isolation_level), so a writer queues for the lock at its first write instead of
    meeting another writer half-way, which SQLite answers with an immediate "locked".
    Migrations set their own transaction and foreign key handling on top of these while they
    run (migration_safety/lock.py).
    """
    busy_ms = int(app.config["SQLITE_BUSY_TIMEOUT"] * 1000)

    def on_connect(dbapi_connection, connection_record):
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA foreign_keys = ON")
        try:
            # Kept in the database file, so the first connection that can switches it for
            # good; a no-op for an in-memory database.
            cursor.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            # Switching needs the database to itself: while another process writes (a
            # migration holding its lock) this connection keeps the current journal.
            pass
        cursor.close()
        dbapi_connection.isolation_level = "IMMEDIATE"

    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", on_connect)


# A pooled MySQL connection unused this long is pinged before it is handed out.
MYSQL_PING_AFTER_IDLE = 2


def configure_mysql(app):
    """The one place that trims the app's MySQL/MariaDB connections' round trips.

    Each round trip costs a page about as much as its own query does. SQLAlchemy's
    pool_pre_ping pings on every checkout, and its reset-on-return rolls back a connection
    the Session has just rolled back: a read page made four round trips for one query. Here
    (SQLAlchemy's documented "custom" disconnect handling and reset schemes, with
    pool_pre_ping off and pool_reset_on_return=None: setting.configure_database):
    a connection idle for MYSQL_PING_AFTER_IDLE seconds or more is pinged, and replaced when
    the ping fails (a server restart, a dropped connection); one in use a moment ago is not
    (if the server went away meanwhile, that request fails and the pool starts afresh). A
    connection goes back to the pool rolled back only if the server says a transaction is
    still open.
    """

    with app.app_context():
        engines = [engine for engine in db.engines.values() if engine.dialect.name == "mysql"]
    if not engines:
        return
    # Imported here: the PyMySQL package takes 25-100 ms to import, which a SQLite app, and
    # every manage.py --help on one, would pay for nothing.
    from pymysql.constants import SERVER_STATUS

    def on_checkin(dbapi_connection, connection_record):
        connection_record.info["checked_in"] = time.monotonic()

    def on_checkout(dbapi_connection, connection_record, connection_proxy):
        checked_in = connection_record.info.get("checked_in")
        if checked_in is None or time.monotonic() - checked_in < MYSQL_PING_AFTER_IDLE:
            return
        try:
            dbapi_connection.ping(reconnect=False)
        except Exception as error:
            # The pool throws this connection away and checks out another one.
            raise exc.DisconnectionError(str(error)) from error

    def on_reset(dbapi_connection, connection_record, reset_state):
        if dbapi_connection.server_status & SERVER_STATUS.SERVER_STATUS_IN_TRANS:
            dbapi_connection.rollback()

    for engine in engines:
        event.listen(engine, "checkin", on_checkin)
        event.listen(engine, "checkout", on_checkout)
        event.listen(engine, "reset", on_reset)
