"""SQLite: the triggers of a table a revision rebuilds outlive the rebuild, as on MySQL."""
import re

from sqlalchemy import event

# Alembic changes a table on SQLite by copying it into a new table, dropping the old one and
# renaming the copy (batch "move and copy"). The old table's triggers are dropped with it, and
# since SQLite 3.26 the RENAME fails on any trigger elsewhere that names the table, which is
# missing at that moment. With legacy_alter_table on, RENAME leaves trigger texts alone; the
# triggers the rebuild dropped are created again after the revision, unless the revision
# dropped them itself.
DROP_TRIGGER = re.compile(r"\bDROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?[`\"\[]?(\w+)", re.IGNORECASE)
TRIGGERS = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"


class TriggerKeeper:
    """``before`` and ``after`` actions of one SQLite revision (units.UnitRunner.wrap)."""

    def __init__(self, connection):
        self.connection = connection
        self.saved = []
        self.dropped = set()

    def before(self):
        self.saved = self.connection.exec_driver_sql(TRIGGERS).all()
        self.dropped = set()
        self.connection.exec_driver_sql("PRAGMA legacy_alter_table = ON")
        event.listen(self.connection, "before_cursor_execute", self._seen)

    def _seen(self, conn, cursor, statement, *args):
        self.dropped.update(name.lower() for name in DROP_TRIGGER.findall(statement))

    def after(self):
        event.remove(self.connection, "before_cursor_execute", self._seen)
        self.connection.exec_driver_sql("PRAGMA legacy_alter_table = OFF")
        now = self.connection.exec_driver_sql(TRIGGERS).all()
        names = {row.name for row in now}
        tables = {row[0] for row in self.connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for trigger in self.saved:
            if (trigger.name not in names and trigger.name.lower() not in self.dropped
                    and trigger.tbl_name in tables):
                self.connection.exec_driver_sql(trigger.sql)
