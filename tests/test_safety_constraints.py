"""Foreign keys, CHECK and unique constraints are refused over rows that break them."""
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from exts import db
from models import AnswerModel
from tests.backends import sqlite_only
from tests.safety_support import REFUSED, applied, refused
from tests.schema_safety_support import column_values, edit_models, new_scripts, seed

BEST_ANSWER = """
    op.add_column('question', sa.Column('best_answer_id', sa.Integer(), nullable=True))
"""
BEST_ANSWER_FK = """
    with op.batch_alter_table('question') as batch_op:
        batch_op.create_foreign_key('fk_question_best_answer_id_answer', 'answer',
                                    ['best_answer_id'], ['id'])
"""


def test_a_foreign_key_over_orphans_is_refused_and_passes_once_they_are_fixed(project):
    seed(project)
    project.add_revision("f1", "best answer", BEST_ANSWER)
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET best_answer_id = 1 WHERE id = 2")
    project.database.execute("UPDATE question SET best_answer_id = 99 WHERE id = 3")
    project.add_revision("f2", "best answer fk", BEST_ANSWER_FK)
    for extra in ([], ["--allow-data-loss"]):
        stderr = refused(project, "db", "upgrade", *extra)
        assert REFUSED in stderr
        assert ("upgrade to f2 (best answer fk): adds foreign key "
                "fk_question_best_answer_id_answer on question (best_answer_id) -> answer, but "
                "1 row holds values that name no answer row (id 3: 99)") in stderr
        assert "to fix: delete those rows, point them at existing rows" in stderr

    project.database.execute("UPDATE question SET best_answer_id = NULL WHERE id = 3")
    applied(project, "db", "upgrade")
    assert column_values(project, "question", "best_answer_id") == [None, 1, None]


def test_a_check_constraint_over_violating_rows_is_refused(project):
    seed(project)
    project.add_revision("c1", "views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """)
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET views = 5")
    project.database.execute("UPDATE question SET views = -1 WHERE id = 2")
    project.add_revision("c2", "views not negative", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.create_check_constraint('ck_question_views_positive', 'views >= 0')
    """)
    stderr = refused(project, "db", "upgrade", "--allow-data-loss")
    assert ("adds check constraint ck_question_views_positive on question (views >= 0), but "
            "1 row holds values it rejects (id 2)") in stderr
    assert "to fix: change or delete the rows the condition rejects" in stderr

    project.database.execute("UPDATE question SET views = 0 WHERE id = 2")
    applied(project, "db", "upgrade")
    failed = project.database.engine.connect()
    try:
        try:
            failed.execute(sa.text("UPDATE question SET views = -3 WHERE id = 1"))
            failed.commit()
            enforced = False
        except sa.exc.DBAPIError:
            enforced = True
    finally:
        failed.close()
    assert enforced, "the database enforces the constraint once it is added"


def test_autogenerate_writes_a_named_check_constraint(project):
    seed(project)
    edit_models(project, '    __tablename__ = "email_captcha"\n',
                '    __tablename__ = "email_captcha"\n    __table_args__ = (db.CheckConstraint('
                '"attempts >= 0", name="attempts_not_negative"),)\n')
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "attempts not negative")
    (script,) = new_scripts(project, before)
    assert "create_check_constraint" in script
    assert "ck_email_captcha_attempts_not_negative" in script
    assert "adds check constraint ck_email_captcha_attempts_not_negative on email_captcha" \
        in result.stderr
    project.database.execute("UPDATE email_captcha SET attempts = -1 WHERE id = 2")
    stderr = refused(project, "db", "upgrade")
    assert "rejects (id 2)" in stderr
    project.database.execute("UPDATE email_captcha SET attempts = 0 WHERE id = 2")
    applied(project, "db", "upgrade")
    assert project.manage("db", "check").returncode == 0


def test_a_composite_unique_constraint_over_duplicates_is_refused(project):
    seed(project)
    project.database.execute("UPDATE email_captcha SET email = 'ann@example.com', "
                             "captcha = '123456'")
    project.add_revision("u1", "one code per address", """
        with op.batch_alter_table('email_captcha') as batch_op:
            batch_op.create_unique_constraint('uq_email_captcha_email', ['email', 'captcha'])
    """)
    stderr = refused(project, "db", "upgrade", "--allow-data-loss")
    assert ("adds unique constraint uq_email_captcha_email on email_captcha (email, captcha), "
            "but 2 rows share their values with another row (duplicated: "
            "('ann@example.com', '123456'))") in stderr
    project.database.execute("UPDATE email_captcha SET captcha = '000000' WHERE id = 2")
    applied(project, "db", "upgrade")


def test_the_app_enforces_foreign_keys_on_sqlite_too(app):
    """An answer to a question that does not exist is refused by SQLite as by MariaDB."""
    db.session.add(AnswerModel(content="orphan", question_id=12345, author_id=67890))
    try:
        db.session.commit()
        committed = True
    except IntegrityError:
        db.session.rollback()
        committed = False
    assert committed is False


@sqlite_only  # MySQL enforces the foreign key on the DELETE itself
def test_sqlite_rolls_back_a_revision_that_leaves_orphans(project):
    """Migrations run with foreign keys off on SQLite (batch rebuilds need it); a revision
    that leaves a row pointing nowhere is refused at its end and rolled back whole."""
    seed(project)
    before = project.database.rows("question")
    project.add_revision("o1", "delete a question", """
        op.execute("DELETE FROM question WHERE id = 2")
    """)
    failed = project.manage("db", "upgrade", check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert ("foreign keys broken by this revision: 1 row(s) of answer point at no row of "
            "question (rowid 1)") in failed.stderr
    assert "nothing of this revision was kept: SQLite rolled it back as a whole" in failed.stderr
    assert project.database.rows("question") == before
