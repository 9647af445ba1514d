"""recent tier of the Mroonga search index

Revision ID: ab061ce821c9
Revises: 9cd113545291
Create Date: 2026-11-30 01:25:12.984751

"""
from alembic import context, op

import db_objects


# revision identifiers, used by Alembic.
revision = 'ab061ce821c9'
down_revision = '9cd113545291'
branch_labels = None
depends_on = None


# The statements live in db_objects.py, which db.create_all() runs too. Written with
# `db revision`: autogenerate ignores the search tables (names.SEARCH_PREFIX) and finds nothing.
# SQLite needs no tier (FTS5 reads about a page of its index whatever the table's size), and a
# MariaDB server without Mroonga has no index to add one to (search uses LIKE).


def has_mroonga(bind):
    if context.is_offline_mode():
        return True  # --sql writes the script for the recommended server, as 9cd113545291
    return db_objects.has_mroonga(bind)


def has_index(bind):
    """search_mroonga, as revision 9cd113545291 made it where the server had Mroonga."""
    if context.is_offline_mode():
        return True
    # A statement, not sa.inspect(bind).has_table(): migration safety's dry run hands the
    # script a bind that runs statements and nothing else.
    return bind.exec_driver_sql(
        "SELECT COUNT(*) FROM information_schema.tables "
        "WHERE table_schema = DATABASE() AND table_name = 'search_mroonga'").scalar() > 0


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite" or not has_mroonga(bind) or not has_index(bind):
        return
    for statement in db_objects.search_recent():
        op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        return
    for statement in db_objects.SEARCH_RECENT_DROP:
        op.execute(statement)
