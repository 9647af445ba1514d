"""Alembic environment for Flask-Migrate: runs migrations against the app's own engine."""
import logging

from alembic import context
from flask import current_app

from migration_safety import Safety

config = context.config

# Logging is the app's (logging_config.py, set up by create_app), as for every command:
# alembic.ini has no logging sections for fileConfig to replace it with.
logger = logging.getLogger("alembic.env")

migrate_config = current_app.extensions["migrate"]
engine = migrate_config.db.engine
# The metadata carries the naming convention, so generated constraints get stable names.
target_metadata = migrate_config.db.metadata

# str(engine.url) masks the password as *** in SQLAlchemy 2; keep the real URL for code that
# reads this option, and never log it. '%' must be doubled for ConfigParser.
config.set_main_option(
    "sqlalchemy.url", engine.url.render_as_string(hide_password=False).replace("%", "%%")
)


def run_migrations_offline():
    """Write SQL to stdout (``--sql``); only the dialect of the URL matters here."""
    context.configure(
        url=engine.url,
        target_metadata=target_metadata,
        literal_binds=True,
        **migrate_config.configure_args,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations on the connection a caller handed in, else one from the app's engine.

    Migration safety (migration_safety/) checks pending revisions against the live data
    before any DDL, runs each revision as a unit under a database-wide lock, and reviews
    what db migrate writes.
    """
    safety = Safety(context, lock_timeout=current_app.config["MIGRATION_LOCK_TIMEOUT"],
                    table_copy_rows=current_app.config["MIGRATION_TABLE_COPY_ROWS"])
    with safety.connection(engine) as connection:
        safety.configure(connection, target_metadata=target_metadata,
                         **migrate_config.configure_args)
        safety.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
