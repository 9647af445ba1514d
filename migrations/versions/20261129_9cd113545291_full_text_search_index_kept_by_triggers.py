"""full-text search index kept by triggers

Revision ID: 9cd113545291
Revises: 949dd11a1e1d
Create Date: 2026-11-29 21:53:08.475966

"""
import logging

from alembic import context, op

import db_objects


# revision identifiers, used by Alembic.
revision = '9cd113545291'
down_revision = '949dd11a1e1d'
branch_labels = None
depends_on = None


# The statements live in db_objects.py, which db.create_all() runs too.


def has_mroonga(bind):
    if context.is_offline_mode():
        # --sql writes the script for the recommended server; README, Search, says what to
        # leave out for one without Mroonga.
        return True
    return db_objects.has_mroonga(bind)


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        statements = db_objects.SEARCH_SQLITE
    elif has_mroonga(bind):
        statements = db_objects.SEARCH_MROONGA
    else:
        logging.getLogger("alembic.runtime.migration").warning(
            "No Mroonga on this server: search reads every question (README, Search)")
        statements = []
    for statement in statements:
        op.execute(statement)


def downgrade():
    sqlite = op.get_bind().dialect.name == "sqlite"
    statements = db_objects.SEARCH_SQLITE_DROP if sqlite else db_objects.SEARCH_MROONGA_DROP
    for statement in statements:
        op.execute(statement)
