"""``Safety``, the one object migrations/env.py hands Alembic (``from migration_safety import
Safety``, which loads this module)."""
# ``Safety(context, ...)`` gives env.py the ``context.configure()`` arguments (a wrapped ``fn``
# that gates and wraps each revision, ``process_revision_directives`` for db migrate's review,
# ``include_name`` for the tables autogenerate ignores) and runs the migrations under the lock.

import contextlib

from sqlalchemy.engine import Connection

from migration_safety import keep, online
from migration_safety.errors import MigrationFailed
from migration_safety.gate import Plan
from migration_safety.history import refuse_unknown_history
from migration_safety.lock import EXTERNAL_TRANSACTION, migration_lock
from migration_safety.logs import quiet
from migration_safety.names import include_name
from migration_safety.options import Options
from migration_safety.triggers import TriggerKeeper
from migration_safety.review import compare_type, review_autogenerate
from migration_safety.units import UnitRunner

__all__ = ["Safety"]

# Alembic's own comparators plus its opt-in one for named CHECK constraints.
AUTOGENERATE_PLUGINS = ["alembic.autogenerate.*", "alembic.ext.checkconstraint_byname"]


class Safety:
    """Migration safety for one run of env.py."""

    def __init__(self, context, lock_timeout, table_copy_rows=None):
        self.context = context
        self.lock_timeout = lock_timeout
        self.table_copy_rows = table_copy_rows
        self.runner = None
        self.large_tables = set()

    @contextlib.contextmanager
    def connection(self, engine):
        """The connection to migrate on: what a caller handed in
        ``config.attributes["connection"]`` (a Connection, used as it is and inside its
        transaction if it has one, or anything with ``connect()``), else one from *engine*."""
        given = self.context.config.attributes.get("connection")
        if given is None:
            given = engine
        if isinstance(given, Connection):
            connection_context = contextlib.nullcontext(given)
        else:
            connection_context = given.connect()
        with connection_context as connection:
            if connection.in_transaction():
                connection.info[EXTERNAL_TRANSACTION] = True
            try:
                yield connection
            finally:
                connection.info.pop(EXTERNAL_TRANSACTION, None)

    def configure(self, connection, **kwargs):
        """``context.configure(connection=connection, **kwargs)`` plus what migration safety
        adds, the command's own ``fn`` wrapped by ``_gated``."""
        kwargs.update(self._configure_args(connection))
        with quiet("alembic.runtime.migration"):  # it logs "Context impl ..." once, below
            self.context.configure(connection=connection, **kwargs)
        # The command's fn is known once configured (MigrationContext.opts); configuring again
        # with the wrapped one is how env.py hands Alembic its own fn.
        command_fn = self.context.get_context().opts.get("fn")
        if command_fn is not None:
            self.context.configure(connection=connection, fn=self._gated(command_fn), **kwargs)

    def _configure_args(self, connection):
        args = {
            "include_name": include_name,
            "process_revision_directives": self._review,
            "autogenerate_plugins": AUTOGENERATE_PLUGINS,
            "compare_type": compare_type,
        }
        if connection.dialect.name == "sqlite":
            # SQLite has transactional DDL once the pysqlite recipe is applied (lock.py). One
            # transaction per run holds the file's write lock, and each revision runs in a
            # savepoint: per-revision commits would let a second process in between.
            args.update(transactional_ddl=True, transaction_per_migration=False)
        else:
            args.update(transaction_per_migration=True)
        return args

    def _review(self, context, revision, directives):
        review_autogenerate(context, revision, directives)

    def _gated(self, command_fn):
        """The command's own ``fn``, with each revision step checked and run as a unit."""

        def fn(heads, migration_context):
            steps = list(command_fn(heads, migration_context))
            revisions = [step for step in steps if not step.info.is_stamp]
            if not revisions or migration_context.as_sql:
                return steps
            functions = [step.migration_fn for step in revisions]
            plan = Plan(migration_context, revisions, functions)
            plan.online.threshold = self.table_copy_rows
            plan.build()
            actions = plan.enforce(Options.from_context(self.context))
            self.large_tables = plan.online.large
            runner = self.runner or UnitRunner(migration_context)
            connection = migration_context.connection
            # Orphans that were there before this run are not its doing (SQLite enforced
            # nothing before the app turned foreign keys on): only new ones fail a revision.
            baseline = _orphans(connection) if connection.dialect.name == "sqlite" else None
            for index, (step, function) in enumerate(zip(revisions, functions)):
                before = list(actions.get(index, []))
                after = [self._restorer(migration_context, step)]
                if baseline is not None:
                    triggers = TriggerKeeper(connection)
                    before.insert(0, triggers.before)
                    after[:0] = [triggers.after]
                    after.append(_foreign_key_check(connection, baseline))
                step.migration_fn = runner.wrap(step, function, before=before, after=after)
            return steps

        return fn

    @staticmethod
    def _restorer(migration_context, step):
        def restore():
            direction = "upgrade" if step.is_upgrade else "downgrade"
            keep.Keeper(migration_context.connection).restore(step.revision.revision, direction)

        return restore

    def run_migrations(self):
        """Run the configured command; upgrade, downgrade and stamp under the migration lock."""
        context = self.context
        migration_context = context.get_context()
        # Only the commands that move the database's revision get a destination.
        if "destination_rev" not in migration_context.opts or migration_context.as_sql:
            with context.begin_transaction():
                context.run_migrations()
            return

        connection = migration_context.connection
        with migration_lock(connection, self.lock_timeout) as keep_work_done:
            # A database of unknown history (db.create_all(), a lost alembic_version) gets db
            # adopt's line before anything is written: never a half-applied first revision.
            # Under the lock: a run that started first may be creating the tables right now.
            refuse_unknown_history(migration_context)
            self.runner = UnitRunner(migration_context)
            detach = None
            try:
                with self.runner.running():
                    detach = online.attach(connection, lambda: self.large_tables)
                    if connection.dialect.name == "sqlite":
                        # The lock's transaction is the run's; alembic must not open its own.
                        context.run_migrations()
                    else:
                        with context.begin_transaction():
                            context.run_migrations()
            except MigrationFailed:
                # The failed revision is rolled back (SQLite) or recorded (MySQL); the
                # revisions completed before it in this run stay applied.
                keep_work_done()
                raise
            finally:
                if detach is not None:
                    detach()
                self.runner = None


class ForeignKeyViolation(Exception):
    """Rows that point at no row, found before a revision is kept (SQLite)."""


def _orphans(connection):
    return {tuple(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}


def _foreign_key_check(connection, baseline):
    def check():
        rows = sorted(_orphans(connection) - baseline, key=lambda row: (row[0], row[1] or 0))
        if rows:
            by_table = {}
            for table, rowid, parent, _ in rows:
                by_table.setdefault((table, parent), []).append(rowid)
            details = "; ".join(
                f"{len(ids)} row(s) of {table} point at no row of {parent} (rowid "
                f"{', '.join(str(i) for i in ids[:5])}{', ...' if len(ids) > 5 else ''})"
                for (table, parent), ids in by_table.items())
            raise ForeignKeyViolation(f"foreign keys broken by this revision: {details}")

    return check
