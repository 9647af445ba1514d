"""Acknowledged loss is reversible: what --allow-data-loss destroys is kept, and put back."""
from tests.safety_support import applied, refused
from tests.schema_safety_support import (
    LONG_TITLE, column_values, columns, edit_models, new_scripts, seed,
)

TITLES = ["Short one", LONG_TITLE, "Why? 迁移 🚀"]
ATTEMPTS = "    attempts = db.Column(db.Integer, nullable=False, default=0)\n"

CAPTCHA_TABLE = """
    op.create_table('email_captcha',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('email', sa.String(length=100), nullable=False),
        sa.Column('captcha', sa.String(length=100), nullable=False),
        sa.Column('create_time', sa.DateTime(), nullable=False),
        sa.Column('used', sa.Boolean(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_email_captcha')),
        mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci', mysql_engine='InnoDB')
    with op.batch_alter_table('email_captcha', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_captcha_email'), ['email'], unique=False)
"""


def keep_tables(project):
    return sorted(t for t in project.database.tables() if t.startswith("alembic_keep"))


def test_a_dropped_column_comes_back_with_its_values_on_downgrade(project):
    seed(project)
    project.add_revision("k1", "drop title", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('title')
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.add_column(sa.Column('title', sa.String(200), nullable=True))
    """)
    refused(project, "db", "upgrade")
    result = project.manage("db", "upgrade", "--allow-data-loss")
    assert ("drops column question.title and its 3 non-null values (kept: the reverse run "
            "puts it back)") in result.stderr
    assert "title" not in columns(project, "question")
    assert keep_tables(project) == ["alembic_keep", "alembic_keep_k1_1"]

    project.manage("db", "downgrade")
    assert column_values(project, "question", "title") == TITLES
    assert keep_tables(project) == []


def test_db_migrate_writes_a_downgrade_that_restores_a_not_null_column(project):
    seed(project)
    edit_models(project, ATTEMPTS, "")
    before = project.versions()
    project.manage("db", "migrate", "-m", "drop captcha attempts")
    (script,) = new_scripts(project, before)
    assert "op.restore_kept('email_captcha', ['attempts'], revision=" in script
    (added,) = [line for line in script.splitlines() if "add_column(sa.Column('attempts'" in line]
    assert added.endswith("nullable=True))")  # the type as the backend reflects it
    assert "batch_op.alter_column('attempts'" in script and "nullable=False" in script

    refused(project, "db", "upgrade")
    project.manage("db", "upgrade", "--allow-data-loss")
    assert "attempts" not in columns(project, "email_captcha")
    # The keep tables are invisible to autogenerate: the models match, nothing to write.
    assert project.manage("db", "check").returncode == 0
    before = project.versions()
    project.manage("db", "migrate", "-m", "nothing")
    assert project.versions() == before

    project.manage("db", "downgrade")
    assert column_values(project, "email_captcha", "attempts") == [0, 2]
    assert columns(project, "email_captcha")["attempts"][1] is False
    assert keep_tables(project) == []


def test_a_dropped_table_comes_back_with_its_rows_on_downgrade(project):
    db = seed(project)
    rows = db.rows("email_captcha")
    project.add_revision("k2", "drop captcha", "op.drop_table('email_captcha')", CAPTCHA_TABLE)
    refused(project, "db", "upgrade")
    project.manage("db", "upgrade", "--allow-data-loss")
    assert "email_captcha" not in db.tables()

    project.manage("db", "downgrade")
    assert db.rows("email_captcha") == rows
    assert keep_tables(project) == []


def test_a_narrowed_column_gets_its_long_values_back_on_downgrade(project):
    seed(project)
    project.add_revision("k3", "narrow title", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(10),
                                  existing_nullable=False)
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(10), type_=sa.String(200),
                                  existing_nullable=False)
    """)
    project.manage("db", "upgrade", "--allow-data-loss")
    assert column_values(project, "question", "title")[1] == LONG_TITLE[:10]
    project.manage("db", "downgrade")
    assert column_values(project, "question", "title") == TITLES


def test_db_kept_lists_and_purges(project):
    seed(project)
    project.add_revision("k4", "drop content", "op.drop_column('answer', 'content')",
                         "op.add_column('answer', sa.Column('content', sa.Text(), "
                         "nullable=True))")
    assert "Nothing is kept" in project.manage("db", "kept").stdout
    project.manage("db", "upgrade", "--allow-data-loss")
    listing = project.manage("db", "kept").stdout
    assert "alembic_keep_k4_1: column answer.content, 1 row(s)" in listing
    assert "by the upgrade of revision k4" in listing

    kept_now = project.manage("db", "kept", "--purge", "--older-than", "1").stdout
    assert kept_now.startswith("Purged 0 keep(s)")
    assert keep_tables(project) == ["alembic_keep", "alembic_keep_k4_1"]
    bad = project.manage("db", "kept", "--older-than", "1", check=False)
    assert bad.returncode == 1 and bad.stderr.startswith("Error: --older-than")

    purged = project.manage("db", "kept", "--purge").stdout
    assert "Purged 1 keep(s)\n  - alembic_keep_k4_1: column answer.content, 1 row(s)" in purged
    assert keep_tables(project) == []
    # Purged means gone for good: the downgrade brings the column back empty.
    project.manage("db", "downgrade")
    assert column_values(project, "answer", "content") == [None]


def test_a_column_holding_only_its_server_default_or_nulls_drops_without_a_flag(project):
    """Neither is data: the downgrade re-creates exactly the same values."""
    seed(project)
    project.add_revision("d1", "add status and note", """
        op.add_column('question', sa.Column('status', sa.String(10), nullable=False,
                                            server_default='new'))
        op.add_column('question', sa.Column('note', sa.String(10), nullable=True))
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('status')
            batch_op.drop_column('note')
    """)
    project.manage("db", "upgrade")
    assert column_values(project, "question", "status") == ["new", "new", "new"]
    applied(project, "db", "downgrade")
    assert "status" not in columns(project, "question")

    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET status = 'closed' WHERE id = 2")
    stderr = refused(project, "db", "downgrade")
    assert ("drops column question.status, which holds 1 non-null value other than its "
            "default 'new'") in stderr
    assert "question.note" not in stderr


def test_keeps_made_by_a_downgrade_come_back_on_upgrade(project):
    seed(project)
    project.add_revision("g1", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """, """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('views')
    """)
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET views = id * 7")
    project.manage("db", "downgrade", "--allow-data-loss")
    assert "views" not in columns(project, "question")
    project.manage("db", "upgrade")
    assert column_values(project, "question", "views") == [7, 14, 21]
    assert keep_tables(project) == []
