"""db recover: show or forget a revision that a failed run left half-applied on MySQL."""
from alembic.runtime.migration import MigrationContext
from flask import current_app
from flask_script import Command, Option

from cli.db import run_reporting_errors
from exts import db
from migration_safety.lock import migration_lock


class Recover(Command):
    """Shows what a failed db upgrade/downgrade left half-applied (--forget drops the record)."""

    option_list = (
        Option("--forget", dest="forget", action="store_true", default=False,
               help="after undoing the recorded operations by hand: drop the record, so the "
                    "next run starts the revision from its first operation"),
    )

    def run(self, forget):
        run_reporting_errors(self._recover, forget)

    @staticmethod
    def _recover(forget):
        # Imported here: of manage.py's commands only this one (and a migration) uses the
        # units, and every start of manage.py (--help included) would import them.
        from migration_safety import units as steps

        with db.engine.connect() as connection:
            if not steps.is_mysql(connection):
                print(f"Nothing to recover on {connection.dialect.name}: a revision that fails "
                      "is rolled back as a whole. Fix the cause and run the command again.")
                return
            # Not while a migration runs: it may be resuming the very record shown here.
            with migration_lock(connection, current_app.config["MIGRATION_LOCK_TIMEOUT"]):
                current = MigrationContext.configure(connection).get_current_heads()
                at = steps.revision_label(", ".join(current))
                records = steps.unfinished(connection)
                if not records:
                    print(f"No unfinished revision: the database is at {at}.")
                    return
                for record in records:
                    print("\n".join(record.describe()))
                if forget:
                    steps.forget(connection)
                    connection.commit()
                    print(f"Forgot that record (table {steps.PROGRESS_TABLE} dropped). "
                          f"alembic_version says {at}; the next run starts the revision from "
                          "its first operation.")
                else:
                    print(f"alembic_version says {at}.\n"
                          "To finish: fix the cause and run the failed command again; it skips "
                          "the recorded operations.\n"
                          "To give up instead: undo those operations by hand, then run "
                          "'python manage.py db recover --forget'.")
