"""The database-wide lock that db upgrade, downgrade and stamp hold while they run."""
import contextlib
import hashlib
import logging
import sqlite3

from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from migration_safety.errors import LockTimeout

log = logging.getLogger(__name__)

__all__ = ["LockTimeout", "migration_lock"]


@contextlib.contextmanager
def migration_lock(connection, timeout):
    """Hold the migration lock of *connection*'s database, waiting at most *timeout* seconds.

    Yields a function that makes the work done so far permanent. On SQLite the lock is the
    database file's own write lock, taken by ``BEGIN IMMEDIATE``: the whole block is one
    transaction, committed when it ends and rolled back if it raises, unless that function
    was called first. On MySQL, whose DDL commits itself, the function does nothing.

    A connection handed in already inside a transaction (a caller that wraps the migration
    in its own transaction, as pytest-alembic does) keeps it: on MySQL GET_LOCK needs no
    commit; on SQLite the caller's transaction is the unit, and the caller commits it.
    """
    dialect = connection.dialect.name
    external = connection.in_transaction() and connection.info.get(EXTERNAL_TRANSACTION)
    if dialect in ("mysql", "mariadb"):
        with _mysql_lock(connection, timeout, external):
            yield lambda: None
    elif dialect == "sqlite" and external:
        yield lambda: None
    elif dialect == "sqlite":
        with _sqlite_write_lock(connection, timeout) as keep:
            yield keep
    else:
        log.warning("No migration lock for %s: run one migration at a time", dialect)
        yield lambda: None


def _mysql_lock_name(database):
    # GET_LOCK names are server-wide and at most 64 characters: one lock per database.
    name = f"alembic_migrate.{database}"
    if len(name) > 64:
        name = "alembic_migrate." + hashlib.sha256(database.encode()).hexdigest()[:40]
    return name


# Set in connection.info by env.py when the connection it was handed is in a transaction.
EXTERNAL_TRANSACTION = "migration_safety.external_transaction"


@contextlib.contextmanager
def _mysql_lock(connection, timeout, external=False):
    database = connection.execute(text("SELECT DATABASE()")).scalar()
    name = _mysql_lock_name(database)
    got = connection.execute(text("SELECT GET_LOCK(:name, 0)"), {"name": name}).scalar()
    if got != 1:
        holder = connection.execute(text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
        log.info("Waiting up to %s s for the migration lock on database %s, held by "
                 "connection %s (another db upgrade, downgrade or stamp)", timeout, database, holder)
        got = connection.execute(text("SELECT GET_LOCK(:name, :timeout)"),
                                 {"name": name, "timeout": timeout}).scalar()
        if got != 1:
            holder = connection.execute(
                text("SELECT IS_USED_LOCK(:name)"), {"name": name}).scalar()
            raise LockTimeout(
                f"gave up after {timeout} s waiting for the migration lock on database "
                f"{database}: MySQL connection {holder} still holds it (another db upgrade, "
                "downgrade or stamp is running; see SHOW PROCESSLIST). Run the command again "
                "when it has finished, or set MIGRATION_LOCK_TIMEOUT to wait longer."
            )
    if not external:
        # End the transaction the checks opened, so the migration reads the version table as
        # the previous lock holder left it, not as it was before waiting (REPEATABLE READ).
        connection.commit()
    try:
        yield
    finally:
        try:
            if not external:
                connection.rollback()
            connection.execute(text("SELECT RELEASE_LOCK(:name)"), {"name": name})
            if not external:
                connection.commit()
        except Exception:  # the server also releases it when this connection closes
            log.debug("RELEASE_LOCK failed", exc_info=True)


def _busy(exc):
    return getattr(exc.orig, "sqlite_errorcode", None) == sqlite3.SQLITE_BUSY


@contextlib.contextmanager
def _sqlite_write_lock(connection, timeout):
    if connection.in_transaction():
        connection.commit()
    dbapi_connection = connection.connection.dbapi_connection
    saved_isolation = dbapi_connection.isolation_level
    # SQLAlchemy's documented pysqlite recipe: pysqlite itself would run DDL outside any
    # transaction; with its own handling off, the BEGIN we send covers DDL and savepoints.
    dbapi_connection.isolation_level = None
    saved_busy = connection.exec_driver_sql("PRAGMA busy_timeout").scalar()
    # A batch rebuild drops and re-creates tables: with foreign keys enforced that would
    # delete or refuse rows. PRAGMA foreign_keys is a no-op inside a transaction, so it is
    # set here, before BEGIN; the rows are checked with foreign_key_check before each
    # revision is kept (units.py).
    saved_foreign_keys = connection.exec_driver_sql("PRAGMA foreign_keys").scalar()
    connection.exec_driver_sql("PRAGMA foreign_keys = OFF")
    database = connection.engine.url.database
    try:
        connection.exec_driver_sql("PRAGMA busy_timeout = 0")
        try:
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        except OperationalError as exc:
            if not _busy(exc):
                raise  # not writable at all: a one-line error like any database error
            log.info("Waiting up to %s s for the write lock on SQLite database %s (another "
                     "migration or a writer holds it)", timeout, database)
            connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(timeout * 1000)}")
            try:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            except OperationalError as exc:
                if not _busy(exc):
                    raise
                raise LockTimeout(
                    f"gave up after {timeout} s waiting for the write lock on SQLite database "
                    f"{database}: another process is migrating or writing to it. Run the "
                    "command again when it has finished."
                ) from None
        # Holding the lock, wait for readers again: COMMIT needs them gone for a moment, and
        # with no wait at all a web worker's read at that instant would fail the migration.
        connection.exec_driver_sql(
            f"PRAGMA busy_timeout = {max(int(saved_busy), int(timeout * 1000))}")

        def keep():
            if dbapi_connection.in_transaction:
                dbapi_connection.commit()

        try:
            yield keep
        except BaseException:
            if dbapi_connection.in_transaction:
                dbapi_connection.rollback()
            raise
        else:
            keep()
    finally:
        # SQLAlchemy's own notion of a transaction outlived the real one: reset it.
        connection.rollback()
        connection.exec_driver_sql(f"PRAGMA busy_timeout = {int(saved_busy)}")
        connection.exec_driver_sql(f"PRAGMA foreign_keys = {int(saved_foreign_keys)}")
        connection.rollback()
        dbapi_connection.isolation_level = saved_isolation
