"""What migrations/env.py calls online: the lock, each revision as a unit, clear failures."""
from migrating.lock import migration_lock
from migrating.steps import PROGRESS_TABLE, MigrationFailed, StepTracker


def configure_args(connection):
    """Extra ``context.configure`` arguments for *connection*'s database."""
    if connection.dialect.name == "sqlite":
        # SQLite has transactional DDL once the pysqlite recipe is applied (migrating/lock.py).
        # One transaction per run holds the file's write lock, and each revision runs in a
        # savepoint: per-revision commits would let a second process in between revisions.
        return {"transactional_ddl": True, "transaction_per_migration": False}
    return {"transaction_per_migration": True}


def include_name(name, type_, parent_names):
    """Hide our bookkeeping table from autogenerate, which would otherwise drop it."""
    return not (type_ == "table" and name == PROGRESS_TABLE)


def run_migrations(context, lock_timeout):
    """Run the configured command; upgrade, downgrade and stamp under the migration lock."""
    migration_context = context.get_context()
    # Only the commands that move the database's revision get a destination.
    if "destination_rev" not in migration_context.opts:
        with context.begin_transaction():
            context.run_migrations()
        return

    connection = migration_context.connection
    with migration_lock(connection, lock_timeout) as keep_work_done:
        tracker = StepTracker(migration_context)
        try:
            with tracker.tracking():
                if connection.dialect.name == "sqlite":
                    # The lock's transaction is the run's; alembic must not open its own.
                    context.run_migrations()
                else:
                    with context.begin_transaction():
                        context.run_migrations()
        except MigrationFailed:
            # The failed revision is rolled back (SQLite) or recorded (MySQL); the revisions
            # completed before it in this run stay applied.
            keep_work_done()
            raise
