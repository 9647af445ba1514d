"""number questions and answers for seek pages; answer counts on questions

Revision ID: 949dd11a1e1d
Revises: 5a3a41b2964b
Create Date: 2026-11-29 21:49:21.358163

"""
from alembic import op
import sqlalchemy as sa

import db_objects


# revision identifiers, used by Alembic.
revision = '949dd11a1e1d'
down_revision = '5a3a41b2964b'
branch_labels = None
depends_on = None


# The triggers' statements (and MariaDB's counter table) live in db_objects.py, which
# db.create_all() runs too.


# Rows already there are numbered in the order the list showed them (create_time, then id).
# Core UPDATEs, not SQL text: migration safety then knows which columns they change.
QUESTION = sa.table("question", sa.column("id"), sa.column("create_time"), sa.column("seq"),
                    sa.column("answer_count"))
ANSWER = sa.table("answer", sa.column("id"), sa.column("question_id"), sa.column("create_time"),
                  sa.column("seq"))


def backfill():
    q, a = QUESTION.alias("q"), ANSWER.alias("a")
    numbered = sa.select(q.c.id, sa.func.row_number().over(
        order_by=(q.c.create_time, q.c.id)).label("n")).subquery("numbered")
    yield QUESTION.update().values(seq=numbered.c.n).where(QUESTION.c.id == numbered.c.id)
    numbered = sa.select(a.c.id, sa.func.row_number().over(
        partition_by=a.c.question_id, order_by=(a.c.create_time, a.c.id)).label("n")
    ).subquery("numbered")
    yield ANSWER.update().values(seq=numbered.c.n).where(ANSWER.c.id == numbered.c.id)
    counts = sa.select(a.c.question_id, sa.func.count().label("n")).group_by(
        a.c.question_id).subquery("counts")
    yield QUESTION.update().values(answer_count=counts.c.n).where(
        QUESTION.c.id == counts.c.question_id)


def upgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
    # ix_answer_question_id becomes (question_id, seq). MySQL refuses to drop the index of a
    # foreign key's column (1553) unless another takes its place in the same statement.
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('answer', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_answer_question_id'))
            batch_op.create_index(batch_op.f('ix_answer_question_id'), ['question_id', 'seq'],
                                  unique=True)
    else:
        op.execute("ALTER TABLE answer DROP INDEX ix_answer_question_id, "
                   "ADD UNIQUE INDEX ix_answer_question_id (question_id, seq)")

    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answer_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_question_seq'), ['seq'], unique=True)

    for statement in backfill():
        op.execute(statement)
    if op.get_bind().dialect.name == "sqlite":
        statements = db_objects.NUMBERING_SQLITE
    else:
        statements = db_objects.COUNTER_TABLE_MYSQL + db_objects.NUMBERING_MYSQL
    for statement in statements:
        op.execute(statement)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS answer_number")
    op.execute("DROP TRIGGER IF EXISTS question_number")
    if op.get_bind().dialect.name != "sqlite":
        # SQL text: the counter is derived bookkeeping, not data whose loss the gate asks about.
        op.execute(f"DROP TABLE {db_objects.QUESTION_COUNTER}")

    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_seq'))
        batch_op.drop_column('answer_count')
        batch_op.drop_column('seq')

    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table('answer', schema=None) as batch_op:
            batch_op.drop_index(batch_op.f('ix_answer_question_id'))
            batch_op.create_index(batch_op.f('ix_answer_question_id'), ['question_id'],
                                  unique=False)
    else:
        op.execute("ALTER TABLE answer DROP INDEX ix_answer_question_id, "
                   "ADD INDEX ix_answer_question_id (question_id)")
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.drop_column('seq')
