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
# serialises the answers of one question on both databases.
COUNTER = "question_counter"  # in migration_safety.names.IGNORED_TABLES

SQLITE_TRIGGERS = [
    """CREATE TRIGGER question_number AFTER INSERT ON question BEGIN
        UPDATE question SET seq = (SELECT COALESCE(MAX(seq), 0) + 1 FROM question)
        WHERE id = NEW.id;
    END""",
    """CREATE TRIGGER answer_number AFTER INSERT ON answer BEGIN
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
    """CREATE TRIGGER answer_number BEFORE INSERT ON answer FOR EACH ROW BEGIN
        UPDATE question SET answer_count = answer_count + 1 WHERE id = NEW.question_id;
        SET NEW.seq = (SELECT answer_count FROM question WHERE id = NEW.question_id);
    END""",
]

# Rows already there are numbered in the order the list showed them (create_time, then id).
SQLITE_BACKFILL = [
    "UPDATE question SET seq = r.n FROM (SELECT id, ROW_NUMBER() OVER "
    "(ORDER BY create_time, id) AS n FROM question) AS r WHERE question.id = r.id",
    "UPDATE answer SET seq = r.n FROM (SELECT id, ROW_NUMBER() OVER "
    "(PARTITION BY question_id ORDER BY create_time, id) AS n FROM answer) AS r "
    "WHERE answer.id = r.id",
    "UPDATE question SET answer_count = "
    "(SELECT COUNT(*) FROM answer WHERE answer.question_id = question.id)",
]
MYSQL_BACKFILL = [
    "UPDATE question JOIN (SELECT id, ROW_NUMBER() OVER (ORDER BY create_time, id) AS n "
    "FROM question) AS r ON question.id = r.id SET question.seq = r.n",
    "UPDATE answer JOIN (SELECT id, ROW_NUMBER() OVER "
    "(PARTITION BY question_id ORDER BY create_time, id) AS n FROM answer) AS r "
    "ON answer.id = r.id SET answer.seq = r.n",
    "UPDATE question JOIN (SELECT question_id, COUNT(*) AS n FROM answer GROUP BY question_id) "
    "AS c ON question.id = c.question_id SET question.answer_count = c.n",
]


def upgrade():
    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        # Created before the old index goes: MySQL keeps an index on the foreign key's column.
        batch_op.create_index('ix_answer_question_id_seq', ['question_id', 'seq'], unique=True)
        batch_op.drop_index(batch_op.f('ix_answer_question_id'))

    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seq', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('answer_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_index(batch_op.f('ix_question_seq'), ['seq'], unique=True)

    if op.get_bind().dialect.name == "sqlite":
        statements = SQLITE_BACKFILL + SQLITE_TRIGGERS
    else:
        op.create_table(
            COUNTER,
            sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
            sa.Column('value', sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_question_counter')),
            mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB')
        statements = MYSQL_BACKFILL + [
            f"INSERT INTO {COUNTER} (id, value) SELECT 1, COALESCE(MAX(seq), 0) FROM question"
        ] + MYSQL_TRIGGERS
    for statement in statements:
        op.execute(statement)


def downgrade():
    op.execute("DROP TRIGGER IF EXISTS answer_number")
    op.execute("DROP TRIGGER IF EXISTS question_number")
    if op.get_bind().dialect.name != "sqlite":
        op.drop_table(COUNTER)

    with op.batch_alter_table('question', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_question_seq'))
        batch_op.drop_column('answer_count')
        batch_op.drop_column('seq')

    with op.batch_alter_table('answer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_answer_question_id'), ['question_id'], unique=False)
        batch_op.drop_index('ix_answer_question_id_seq')
        batch_op.drop_column('seq')
