"""Extension objects, created unbound and initialised by app.create_app."""
from flask_mail import Mail
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect
from sqlalchemy import MetaData, Table, event

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


def enforce_sqlite_foreign_keys(app):
    """Make the app's SQLite connections enforce foreign keys, as MySQL does.

    SQLite checks them only on connections that ask (PRAGMA foreign_keys), so each new
    connection of the app's engines asks. Migrations turn it off while they rebuild tables
    and check every key before they commit (migration_safety/lock.py).
    """
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_foreign_keys_on)


def _sqlite_foreign_keys_on(dbapi_connection, connection_record):
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()
