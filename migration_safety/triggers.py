"""SQLite: the triggers of a table a revision rebuilds outlive the rebuild, as on MySQL."""
import re

from sqlalchemy import event

# Alembic changes a table on SQLite by copying it into a new table, dropping the old one and
# renaming the copy (batch "move and copy"). The old table's triggers are dropped with it, and
# since SQLite 3.26 that RENAME fails on any trigger elsewhere that names the table, missing
# at that moment. So that RENAME alone runs with legacy_alter_table on (trigger texts left
# alone; a rename the revision asks for itself still updates them), the triggers of a table
# are read as they are just before it is dropped, and those the drop took are created again
# after the revision, unless it dropped them itself or the table is gone for good.
COPY_RENAMED = re.compile(r"^\s*ALTER\s+TABLE\s+[`\"\[]?_alembic_tmp_", re.IGNORECASE)
DROP_TABLE = re.compile(r"^\s*DROP\s+TABLE\s+(?:IF\s+EXISTS\s+)?[`\"\[]?(\w+)", re.IGNORECASE)
DROP_TRIGGER = re.compile(r"\bDROP\s+TRIGGER\s+(?:IF\s+EXISTS\s+)?[`\"\[]?(\w+)", re.IGNORECASE)
TRIGGERS = "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"


class TriggerKeeper:
    """``before`` and ``after`` actions of one SQLite revision (units.UnitRunner.wrap)."""

    def __init__(self, connection):
        self.connection = connection
        self.saved = {}
        self.dropped = set()

    def before(self):
        self.saved = {}
        self.dropped = set()
        event.listen(self.connection, "before_cursor_execute", self._before)
        event.listen(self.connection, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, *args):
        self.dropped.update(name.lower() for name in DROP_TRIGGER.findall(statement))
        table = DROP_TABLE.match(statement)
        if table:
            for name, tbl_name, sql in cursor.connection.execute(TRIGGERS):
                if tbl_name.lower() == table.group(1).lower():
                    self.saved[name] = (tbl_name, sql)
        if COPY_RENAMED.match(statement):
            cursor.execute("PRAGMA legacy_alter_table = ON")

    def _after(self, conn, cursor, statement, *args):
        if COPY_RENAMED.match(statement):
            cursor.execute("PRAGMA legacy_alter_table = OFF")

    def after(self):
        event.remove(self.connection, "before_cursor_execute", self._before)
        event.remove(self.connection, "after_cursor_execute", self._after)
        names = {row.name for row in self.connection.exec_driver_sql(TRIGGERS)}
        tables = {row[0] for row in self.connection.exec_driver_sql(
            "SELECT name FROM sqlite_master WHERE type = 'table'")}
        for name, (table, sql) in self.saved.items():
            if name not in names and name.lower() not in self.dropped and table in tables:
                self.connection.exec_driver_sql(sql)
