"""number questions and answers for seek pages; answer counts on questions

Revision ID: 949dd11a1e1d
Revises: 8122a53add8f
Create Date: 2026-11-29 21:49:21.358163

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '949dd11a1e1d'
down_revision = '8122a53add8f'
branch_labels = None
depends_on = None


# Triggers, not the app, number the rows: every writer (the site, seed, a console) gets the
# same numbers. MariaDB numbers questions from a one-row counter table, locked by its UPDATE:
# MAX(seq) + 1 under concurrent inserts would hand two questions the same number (or, read
# FOR UPDATE, deadlock on the gap lock). SQLite writes one transaction at a time, so MAX is
# safe there. An answer takes its number from its question's answer_count, whose row lock
# serialises the answers of one question on both databases. An answer inserted with its seq
# given comes from a bulk loader that numbers and counts its rows itself (cli/seed.py): a
# trigger per row would cost it minutes at half a million answers.
COUNTER = "question_counter"  # in migration_safety.names.IGNORED_TABLES

SQLITE_TRIGGERS = [
    """CREATE TRIGGER question_number AFTER INSERT ON question BEGIN
        UPDATE question SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM question)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER answer_number AFTER INSERT ON answer WHEN NEW.seq IS NULL BEGIN
        UPDATE question SET answer_count = answer_count + 1 WHERE id = NEW.question_id;
        UPDATE answer SET seq = (SELECT answer_count FROM question WHERE id = NEW.question_id)
        WHERE id = NEW.id;
    END""",
]
MYSQL_TRIGGERS = [
    # The INSERT puts back a counter row that is missing (a TRUNCATE, say), from the data.
    f"""CREATE TRIGGER question_number BEFORE INSERT ON question FOR EACH ROW BEGIN
        UPDATE {COUNTER} SET value = value + 1 WHERE id = 1;
        IF ROW_COUNT() = 0 THEN
            INSERT INTO {COUNTER} (id, value) SELECT 1, COALESCE(MAX(seq), 0) + 1 FROM question;
        END IF;
        SET NEW.seq = (SELECT value FROM {COUNTER} WHERE id = 1);
    END""",
    """CREATE TRIGGER answer_number BEFORE INSERT ON answer FOR EACH ROW
    IF NEW.seq IS NULL THEN
        UPDATE question SET answer_count = answer_count + 1 WHERE id = NEW.question_id;
        SET NEW.seq = (SELECT answer_count FROM question WHERE id = NEW.question_id);
    END IF""",
]

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
        statements = SQLITE_TRIGGERS
    else:
        op.create_table(
            COUNTER,
            sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
            sa.Column('value', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_question_counter')),
            mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB')
        statements = [
            f"INSERT INTO {COUNTER} (id, value) SELECT 1, COALESCE(MAX(seq), 0) FROM question"
        ] + MYSQL_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS answer_number")
    op.execute("DROP TRIGGER IF EXISTS question_number")
    if op.get_bind().dialect.name != "sqlite":
        # SQL text: the counter is derived bookkeeping, not data whose loss the gate asks about.
        op.execute(f"DROP TABLE {COUNTER}")

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
