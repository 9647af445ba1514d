"""Alembic environment for Flask-Migrate: runs migrations against the app's own engine."""
import logging

from alembic import context
from flask import current_app

from migrating import runner
from schema_safety import install_gate, review_autogenerate

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
    """Run migrations on a connection from the app's engine."""

    def process_revision_directives(context, revision, directives):
        # Rename questions, the NOT NULL assistant and the list of destructive operations.
        review_autogenerate(context, revision, directives)
        # An autogenerate that finds nothing writes no empty script.
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            process_revision_directives=process_revision_directives,
            include_name=runner.include_name,
            **runner.configure_args(connection),
            **migrate_config.configure_args,
        )
        # Checks pending revisions against the live data before their first DDL; the check
        # runs when run_migrations asks for its steps, so inside the lock taken below.
        install_gate(context)
        # upgrade, downgrade and stamp take a database-wide lock, and a revision that fails
        # half-way is reported with how to recover (migrating/runner.py).
        runner.run_migrations(context, current_app.config["MIGRATION_LOCK_TIMEOUT"])


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
