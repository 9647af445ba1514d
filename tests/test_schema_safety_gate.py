"""db upgrade/downgrade check pending revisions against the live data before any DDL."""
from tests.schema_safety_support import (
    LONG_TITLE, add_revision, column_values, columns, flask, head, index_names, seed, state,
)

REFUSED = "refused: it would destroy or break existing data. Nothing was changed."


def refused(project, *args):
    """Run a command that must be refused; returns its stderr after checking the basics."""
    before = state(project)
    result = project.manage(*args, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert REFUSED in result.stderr
    assert "Traceback" not in result.stderr
    assert state(project) == before, "a refused command changed the database"
    return result.stderr


# -- dropping columns and tables ------------------------------------------------------------

def test_dropping_a_column_that_holds_values_is_refused_then_allowed(project):
    seed(project)
    add_revision(project, "d1", "drop question title", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('title')
    """)
    stderr = refused(project, "db", "upgrade")
    assert ("upgrade to d1 (drop question title): drops column question.title, "
            "which holds 3 non-null values") in stderr
    assert "run again with --allow-data-loss" in stderr

    result = project.manage("db", "upgrade", "--allow-data-loss")
    assert ("db upgrade --allow-data-loss: destroying existing data:\n"
            "  - upgrade to d1 (drop question title): drops column question.title and its "
            "3 non-null values") in result.stderr
    assert "title" not in columns(project, "question")
    assert column_values(project, "question", "content") == ["a", "b", "c"]
    assert head(project) in project.manage("db", "current").stdout


def test_dropping_a_column_of_an_empty_table_or_of_nulls_passes(project):
    project.manage("db", "upgrade")
    add_revision(project, "e1", "add views", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.add_column(sa.Column('views', sa.Integer(), nullable=True))
    """)
    project.manage("db", "upgrade")
    add_revision(project, "e2", "drop views and content", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('views')
        op.drop_column('answer', 'content')
    """)
    project.database.execute("INSERT INTO user (id, username, username_key, email, "
                             "password_hash, join_time) VALUES (1, 'ann', 'ann', "
                             "'a@example.com', 'x', '2026-01-01 10:00:00')")
    project.database.execute("INSERT INTO question (id, title, content, create_time, "
                             "author_id) VALUES (1, 't', 'c', '2026-01-01 10:00:00', 1)")
    # question has a row but views is NULL in it; answer has no rows at all.
    result = project.manage("db", "upgrade")
    assert "refused" not in result.stderr and "destroying" not in result.stderr
    assert "views" not in columns(project, "question")
    assert "content" not in columns(project, "answer")


def test_dropping_a_table_with_rows_is_refused_and_an_empty_one_passes(project):
    seed(project)
    add_revision(project, "t1", "drop captcha and answer", """
        op.drop_table('email_captcha')
        op.drop_table('answer')
    """)
    stderr = refused(project, "db", "upgrade")
    assert "drops table email_captcha, which holds 2 rows" in stderr
    assert "drops table answer, which holds 1 row" in stderr

    project.database.execute("DELETE FROM answer")
    project.database.execute("DELETE FROM email_captcha")
    project.manage("db", "upgrade")
    assert {"email_captcha", "answer"}.isdisjoint(project.database.tables())


# -- narrowing ------------------------------------------------------------------------------

NARROW_TITLE = """
    with op.batch_alter_table('question') as batch_op:
        batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(10),
                              existing_nullable=False)
"""


def test_narrowing_below_the_longest_value_is_refused(project):
    seed(project)
    add_revision(project, "n1", "narrow title", NARROW_TITLE)
    stderr = refused(project, "db", "upgrade")
    # "Short one" (9) and "Why? 迁移 🚀" (10 characters, more bytes) fit: only id 2 is too long.
    assert ("narrows question.title to VARCHAR(10), but 1 row holds longer values "
            f"(longest: {len(LONG_TITLE)} characters; id 2)") in stderr


def test_narrowing_with_allow_data_loss_cuts_the_long_values(project):
    seed(project)
    add_revision(project, "n1", "narrow title", NARROW_TITLE,
                 downgrade="""
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(10), type_=sa.String(200),
                                  existing_nullable=False)
    """)
    result = project.manage("db", "upgrade", "--allow-data-loss")
    assert ("cuts 1 value of question.title to 10 characters, then narrows it to VARCHAR(10) "
            f"(longest now: {len(LONG_TITLE)} characters; id 2)") in result.stderr
    assert column_values(project, "question", "title") == [
        "Short one", LONG_TITLE[:10], "Why? 迁移 🚀"]
    assert columns(project, "question")["title"][0].startswith("VARCHAR(10")

    # Widening back loses nothing and needs no flag.
    project.manage("db", "downgrade")
    assert columns(project, "question")["title"][0].startswith("VARCHAR(200")


def test_narrowing_passes_when_every_value_fits(project):
    seed(project)
    project.database.execute("UPDATE question SET title = 'fits' WHERE id = 2")
    add_revision(project, "n1", "narrow title", NARROW_TITLE)
    project.manage("db", "upgrade")
    assert columns(project, "question")["title"][0].startswith("VARCHAR(10")


# -- NOT NULL and unique: the data must be fixed first ----------------------------------------

def test_not_null_over_nulls_is_refused_even_with_allow_data_loss(project):
    seed(project)
    add_revision(project, "v1", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """)
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET views = 5 WHERE id = 1")
    add_revision(project, "v2", "views not null", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('views', existing_type=sa.Integer(), nullable=False)
    """)
    for extra in ([], ["--allow-data-loss"]):
        stderr = refused(project, "db", "upgrade", *extra)
        assert ("upgrade to v2 (views not null): makes question.views NOT NULL, but 2 rows "
                "hold NULL there (id 2, 3)") in stderr
        assert "to fix: fill in or delete the rows where question.views is NULL" in stderr
        assert "--allow-data-loss does not cover them" in stderr

    project.database.execute("UPDATE question SET views = 0 WHERE views IS NULL")
    project.manage("db", "upgrade")
    assert columns(project, "question")["views"][1] is False


def test_adding_a_not_null_column_without_default_to_rows_is_refused(project):
    seed(project)
    add_revision(project, "a1", "add score", """
        with op.batch_alter_table('answer') as batch_op:
            batch_op.add_column(sa.Column('score', sa.Integer(), nullable=False))
    """)
    stderr = refused(project, "db", "upgrade", "--allow-data-loss")
    assert ("adds answer.score as NOT NULL with no value for the 1 existing row") in stderr
    assert "to fix: the script must give existing rows a value" in stderr

    project.database.execute("DELETE FROM answer")
    project.manage("db", "upgrade")
    assert columns(project, "answer")["score"][1] is False


def test_a_revision_that_fills_before_not_null_passes(project):
    """The pattern db migrate's NOT NULL assistant writes: add nullable, fill, NOT NULL."""
    seed(project)
    add_revision(project, "f1", "add score filled", """
        with op.batch_alter_table('answer') as batch_op:
            batch_op.add_column(sa.Column('score', sa.Integer(), nullable=True))
        table = sa.table('answer', sa.column('score', sa.Integer()))
        op.execute(table.update().where(table.c['score'].is_(None)).values({'score': 1}))
        with op.batch_alter_table('answer') as batch_op:
            batch_op.alter_column('score', existing_type=sa.Integer(), nullable=False)
    """)
    result = project.manage("db", "upgrade")
    assert "refused" not in result.stderr and "Note:" not in result.stderr
    assert column_values(project, "answer", "score") == [1]


def test_a_fill_in_an_earlier_revision_does_not_hide_a_later_drop(project):
    seed(project)
    add_revision(project, "f2", "add score filled", """
        op.add_column('question', sa.Column('score', sa.Integer(), nullable=True))
        table = sa.table('question', sa.column('score', sa.Integer()))
        op.execute(table.update().values({'score': 1}))
    """)
    add_revision(project, "f3", "drop title", "op.drop_column('question', 'title')")
    stderr = refused(project, "db", "upgrade")
    assert "drops column question.title, which holds 3 non-null values" in stderr


def test_sql_text_that_changes_a_table_turns_its_checks_into_notes(project):
    """The gate cannot read arbitrary SQL: it says which checks it skipped, and lets the
    database have the last word."""
    seed(project)
    add_revision(project, "v1", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """)
    project.manage("db", "upgrade")
    add_revision(project, "v2", "fix views then not null", """
        op.execute("UPDATE question SET views = 0 WHERE views IS NULL")
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('views', existing_type=sa.Integer(), nullable=False)
    """)
    result = project.manage("db", "upgrade")
    assert ("Note: upgrade to v2 (fix views then not null): NOT NULL on question.views not "
            "checked: a pending step changes the table's data first") in result.stderr
    assert column_values(project, "question", "views") == [0, 0, 0]


def test_unique_index_over_duplicates_is_refused_even_with_allow_data_loss(project):
    seed(project)
    project.database.execute("UPDATE user SET username = 'ann' WHERE id = 2")
    add_revision(project, "u1", "unique username", """
        with op.batch_alter_table('user') as batch_op:
            batch_op.create_index('ix_user_username', ['username'], unique=True)
    """)
    for extra in ([], ["--allow-data-loss"]):
        stderr = refused(project, "db", "upgrade", *extra)
        assert ("adds unique index ix_user_username on user (username), but 2 rows share "
                "their values with another row (duplicated: 'ann')") in stderr
        assert "to fix: change or delete the duplicated rows" in stderr

    project.database.execute("UPDATE user SET username = 'bob' WHERE id = 2")
    project.manage("db", "upgrade")
    assert "ix_user_username" in index_names(project, "user")


def test_unique_constraint_over_duplicates_is_refused(project):
    seed(project)
    project.database.execute("UPDATE email_captcha SET captcha = '123456'")
    add_revision(project, "u2", "unique captcha", """
        op.create_unique_constraint('uq_email_captcha_captcha', 'email_captcha', ['captcha'])
    """)
    stderr = refused(project, "db", "upgrade")
    assert ("adds unique constraint uq_email_captcha_captcha on email_captcha (captcha), but "
            "2 rows share their values with another row (duplicated: '123456')") in stderr


# -- downgrade, several revisions, a fresh database, flask --------------------------------------

def test_downgrade_that_drops_data_is_refused_then_allowed(project):
    seed(project)
    add_revision(project, "g1", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """, downgrade="""
        with op.batch_alter_table('question') as batch_op:
            batch_op.drop_column('views')
    """)
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET views = 7 WHERE id = 3")
    stderr = refused(project, "db", "downgrade")
    assert ("downgrade of g1 (add views): drops column question.views, which holds "
            "1 non-null value") in stderr

    result = project.manage("db", "downgrade", "--allow-data-loss")
    assert "db downgrade --allow-data-loss: destroying existing data:" in result.stderr
    assert "views" not in columns(project, "question")


def test_downgrade_to_base_with_rows_is_refused(project):
    seed(project)
    stderr = refused(project, "db", "downgrade", "base")
    for table, rows in (("user", "2 rows"), ("question", "3 rows"), ("answer", "1 row"),
                        ("email_captcha", "2 rows")):
        assert f"drops table {table}, which holds {rows}" in stderr


def test_one_refused_revision_stops_the_whole_upgrade(project):
    """Nothing of a harmless earlier pending revision runs when a later one is refused."""
    seed(project)
    add_revision(project, "m1", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """)
    add_revision(project, "m2", "drop content", """
        op.drop_column('answer', 'content')
    """)
    stderr = refused(project, "db", "upgrade")
    assert "upgrade to m2 (drop content): drops column answer.content" in stderr
    assert "views" not in columns(project, "question")


def test_checks_follow_renames_made_by_earlier_pending_revisions(project):
    seed(project)
    # Not question.title: the search triggers read it, and a rename must re-create them.
    add_revision(project, "r1", "rename email", """
        with op.batch_alter_table('email_captcha') as batch_op:
            batch_op.alter_column('email', new_column_name='address',
                                  existing_type=sa.String(100), existing_nullable=False)
    """)
    add_revision(project, "r2", "narrow address", """
        with op.batch_alter_table('email_captcha') as batch_op:
            batch_op.alter_column('address', existing_type=sa.String(100),
                                  type_=sa.String(10), existing_nullable=False)
    """)
    stderr = refused(project, "db", "upgrade")
    assert "upgrade to r2 (narrow address): narrows email_captcha.address to VARCHAR(10)" in stderr

    project.manage("db", "upgrade", "--allow-data-loss")
    assert column_values(project, "email_captcha", "address") == ["ann@exampl", "bob@exampl"]


def test_fresh_database_goes_from_base_to_head_unblocked(project):
    """Every check passes on empty tables, however destructive the revisions are."""
    add_revision(project, "z1", "destructive", """
        with op.batch_alter_table('question') as batch_op:
            batch_op.alter_column('title', existing_type=sa.String(200), type_=sa.String(5),
                                  existing_nullable=False)
            batch_op.drop_column('content')
            batch_op.add_column(sa.Column('views', sa.Integer(), nullable=False))
        with op.batch_alter_table('user') as batch_op:
            batch_op.create_index('ix_user_username', ['username'], unique=True)
        op.drop_table('email_captcha')
    """)
    result = project.manage("db", "upgrade")
    assert "refused" not in result.stderr and "Note:" not in result.stderr
    assert head(project) == "z1"
    assert "email_captcha" not in project.database.tables()


def test_flask_db_upgrade_is_gated_too(project):
    seed(project)
    # Not question.title: SQLite refuses to drop a column the search triggers read.
    add_revision(project, "k1", "drop content", "op.drop_column('answer', 'content')")
    before = state(project)
    result = flask(project, "db", "upgrade", check=False)
    assert result.returncode == 1
    assert REFUSED in result.stderr and "Traceback" not in result.stderr
    assert "drops column answer.content, which holds 1 non-null value" in result.stderr
    assert "run again with -x allow-data-loss" in result.stderr
    assert state(project) == before

    flask(project, "db", "upgrade", "-x", "allow-data-loss")
    assert "content" not in columns(project, "answer")


def test_flask_db_downgrade_is_gated_too(project):
    seed(project)
    add_revision(project, "k2", "add views", """
        op.add_column('question', sa.Column('views', sa.Integer(), nullable=True))
    """, downgrade="op.drop_column('question', 'views')")
    flask(project, "db", "upgrade")
    project.database.execute("UPDATE question SET views = 1")
    before = state(project)
    result = flask(project, "db", "downgrade", check=False)
    assert result.returncode == 1 and REFUSED in result.stderr
    assert "drops column question.views, which holds 3 non-null values" in result.stderr
    assert state(project) == before

    flask(project, "db", "downgrade", "-x", "allow-data-loss")
    assert "views" not in columns(project, "question")


def test_upgrade_sql_mode_is_not_gated(project):
    """--sql prints the DDL and touches no database, so there is no data to check."""
    add_revision(project, "s1", "drop title", "op.drop_column('question', 'title')")
    result = project.manage("db", "upgrade", "--sql")
    assert "ALTER TABLE question DROP COLUMN title" in result.stdout
