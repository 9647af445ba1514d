"""What the user asked for on the command line, read from alembic's ``-x`` arguments."""
import os
import re
import sys
from dataclasses import dataclass, field

from migration_safety.errors import SafetyError

# manage.py's own options (--allow-data-loss, --allow-table-copy, --rename, --fill,
# --no-input) are turned into these -x arguments, so one reader serves manage.py and
# Flask-Migrate's `flask db` alike (read through context.get_x_argument()).
ALLOW_DATA_LOSS = "allow-data-loss"
ALLOW_TABLE_COPY = "allow-table-copy"
NO_INPUT = "no-input"
RENAME = "rename"
FILL = "fill"

# Set in config.attributes by manage.py's db commands: hints then name their options.
MANAGE_PY = "migration_safety.manage_py"
# Set by db check: review nothing, ask nothing.
CHECKING = "migration_safety.check"

_NAME = r"[A-Za-z_][A-Za-z0-9_$]*"
_COLUMN_RENAME = re.compile(rf"({_NAME})\.({_NAME}):({_NAME})")
_TABLE_RENAME = re.compile(rf"({_NAME}):({_NAME})")
_FILL = re.compile(rf"({_NAME})\.({_NAME})=(.*)", re.DOTALL)


@dataclass
class Options:
    allow_data_loss: bool = False
    allow_table_copy: bool = False
    no_input: bool = False
    column_renames: dict = field(default_factory=dict)  # (table, old) -> new
    table_renames: dict = field(default_factory=dict)  # old -> new
    fills: dict = field(default_factory=dict)  # (table, column) -> text typed by the user
    # Which command line is running, so hints name options that exist there.
    manage_py: bool = False

    @classmethod
    def from_context(cls, context):
        """The options of the command that runs *context* (alembic's EnvironmentContext)."""
        config = context.config
        # manage.py's own commands say so; Flask-Migrate's (db revision) run under manage.py too.
        manage_py = (config.attributes.get(MANAGE_PY, False)
                     or os.path.basename(sys.argv[0]) == "manage.py")
        options = cls(manage_py=manage_py)
        for argument in context.get_x_argument():
            options.add(argument)
        return options

    def add(self, argument):
        key, _, value = argument.partition("=")
        key = key.strip().replace("_", "-")
        if key == ALLOW_DATA_LOSS and not value:
            self.allow_data_loss = True
        elif key == ALLOW_TABLE_COPY and not value:
            self.allow_table_copy = True
        elif key == NO_INPUT and not value:
            self.no_input = True
        elif key == RENAME:
            self.add_rename(value)
        elif key == FILL:
            self.add_fill(value)
        # Other -x arguments belong to other parts of env.py.

    def add_rename(self, value):
        value = value.strip()
        column = _COLUMN_RENAME.fullmatch(value)
        table = _TABLE_RENAME.fullmatch(value)
        if column:
            self.column_renames[(column.group(1), column.group(2))] = column.group(3)
        elif table:
            self.table_renames[table.group(1)] = table.group(2)
        else:
            raise SafetyError(
                f"--rename {value!r}: write TABLE.OLD:NEW for a column "
                "(question.title:headline) or OLD:NEW for a table (answer:reply)"
            )

    def add_fill(self, value):
        match = _FILL.fullmatch(value.strip())
        if not match:
            raise SafetyError(
                f"--fill {value!r}: write TABLE.COLUMN=VALUE, for example question.views=0"
            )
        self.fills[(match.group(1), match.group(2))] = match.group(3)

    def hint(self, manage_py_form, x_form):
        """The way to pass an option on the command line that is running."""
        if self.manage_py:
            return manage_py_form
        return x_form
