"""db migrate asks about renames and NOT NULL values on a terminal; without one it never guesses.

The questions are answered in-process on a simulated terminal (``typed=``: the screen is the
result's stdout, with what was typed echoed); one test holds the same conversation on a real
pseudo-terminal.
"""
import sqlalchemy as sa

from tests.schema_safety_support import (
    LONG_TITLE, column_values, columns, edit_models, flask, index_names, new_scripts, seed,
    state, terminal,
)

TITLE = "    title = db.Column(db.String(200), nullable=False)\n"
# The column is renamed, the attribute the site's code uses is kept (as a user would do it).
HEADLINE = '    title = db.Column("headline", db.String(200), nullable=False)\n'
TITLES = ["Short one", LONG_TITLE, "Why? 迁移 🚀"]
CAPTCHA_TABLE = '    __tablename__ = "email_captcha"\n'
CAPTCHA_EMAIL = "    email = db.Column(db.String(100), nullable=False, index=True)\n    captcha ="
QUESTION_ID = '    __tablename__ = "question"\n\n    id = db.Column(db.Integer, primary_key=True)\n'


def foreign_keys(project, table):
    project.database.engine.dispose()
    return {(fk["constrained_columns"][0], fk["referred_table"])
            for fk in sa.inspect(project.database.engine).get_foreign_keys(table)}


def add_question_column(project, line):
    edit_models(project, QUESTION_ID, QUESTION_ID + line)


def assert_in_order(screen, *parts):
    """Each of *parts* appears on *screen*, each after the one before."""
    at = 0
    for part in parts:
        found = screen.find(part, at)
        assert found >= 0, f"{part!r} does not follow on the screen:\n{screen}"
        at = found + len(part)


# -- renamed columns ---------------------------------------------------------------------

def test_rename_column_answered_yes_on_a_real_terminal_keeps_the_values(project):
    seed(project)
    edit_models(project, TITLE, HEADLINE)
    before = project.versions()
    term = terminal(project, "db", "migrate", "-m", "rename title")
    term.expect("Did you rename question.title to question.headline? [y/N] ")
    term.send("y")
    assert term.finish() == 0, term.output
    assert "renames column question.title to headline (its values are kept)" in term.output
    (script,) = new_scripts(project, before)
    assert "new_column_name='headline'" in script and "new_column_name='title'" in script
    assert "drop_column" not in script and "add_column" not in script

    project.manage("db", "upgrade")
    assert column_values(project, "question", "headline") == TITLES
    assert project.manage("db", "check").returncode == 0

    project.manage("db", "downgrade")
    assert column_values(project, "question", "title") == TITLES
    assert "headline" not in columns(project, "question")


def test_rename_column_answered_no_writes_drop_and_add_which_upgrade_refuses(project):
    seed(project)
    edit_models(project, TITLE, HEADLINE)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "replace title", typed=["n", "untitled"])
    assert_in_order(result.stdout,
                    "Did you rename question.title to question.headline? [y/N] n\n",
                    # headline is then a new NOT NULL column: the rows there need a value.
                    "Value for existing rows of question.headline (VARCHAR(200)); "
                    "empty to stop: untitled\n",
                    "drops column question.title and its values")
    (script,) = new_scripts(project, before)
    assert "batch_op.drop_column('title')" in script
    assert ".values({'headline': 'untitled'})" in script

    saved = state(project)
    result = project.manage("db", "upgrade", check=False)
    assert result.returncode == 1
    assert "drops column question.title, which holds 3 non-null values" in result.stderr
    assert state(project) == saved


def test_without_a_terminal_a_likely_rename_is_written_as_found_with_a_warning(project):
    seed(project)
    add_question_column(project, "    views = db.Column(db.Integer, nullable=True)\n")
    project.manage("db", "migrate", "-m", "add views")
    project.manage("db", "upgrade")
    project.database.execute("UPDATE question SET views = id * 10")

    edit_models(project, "    views = db.Column(db.Integer, nullable=True)\n",
                "    view_count = db.Column(db.Integer, nullable=True)\n")
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "rename views")
    assert "Did you rename" not in result.stdout + result.stderr
    (name,) = set(project.versions()) - set(before)
    assert ("Likely renames, written as a drop and an add because no terminal could be asked:\n"
            "    - question.views -> question.view_count (same type INTEGER, NULL): the script "
            "drops question.views and every value in it\n"
            f"  If these are renames, delete migrations/versions/{name} and run: python manage.py "
            "db migrate -m 'rename views' --rename question.views:view_count") in result.stderr
    (script,) = new_scripts(project, before)
    assert "batch_op.drop_column('views')" in script

    # Following the advice writes a rename instead.
    (project.root / "migrations" / "versions" / name).unlink()
    project.manage("db", "migrate", "-m", "rename views", "--rename", "question.views:view_count")
    (script,) = new_scripts(project, before)
    assert "new_column_name='view_count'" in script
    project.manage("db", "upgrade")
    assert column_values(project, "question", "view_count") == [10, 20, 30]


def test_without_a_terminal_a_not_null_rename_is_refused_with_both_ways_out(project):
    seed(project)
    edit_models(project, TITLE, HEADLINE)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "rename title", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "No script was written." in result.stderr
    assert ("if it is question.title renamed, run db migrate again with --rename "
            "question.title:headline (values are kept)") in result.stderr
    assert "--fill question.headline=VALUE" in result.stderr
    assert project.versions() == before

    project.manage("db", "migrate", "-m", "rename title", "--rename", "question.title:headline")
    project.manage("db", "upgrade")
    assert column_values(project, "question", "headline") == TITLES


def test_explicit_rename_can_change_the_type_too(project):
    seed(project)
    edit_models(project, TITLE, '    title = db.Column("headline", db.String(20), nullable=True)\n')
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "shorter headline", "--rename",
                            "question.title:headline")
    assert ("upgrade():\n    - narrows question.title from VARCHAR(200) to VARCHAR(20)"
            in result.stderr)
    # Widening back in downgrade() destroys nothing, so it is not listed; NOT NULL is.
    assert "  downgrade():\n    - makes question.headline NOT NULL" in result.stderr
    assert "changes the type" not in result.stderr
    (script,) = new_scripts(project, before)
    assert "new_column_name='headline'" in script and "type_=sa.String(length=20)" in script

    refused = project.manage("db", "upgrade", check=False)
    assert refused.returncode == 1 and "1 row holds longer values" in refused.stderr
    project.manage("db", "upgrade", "--allow-data-loss")
    assert column_values(project, "question", "headline") == [
        "Short one", LONG_TITLE[:20], "Why? 迁移 🚀"]


def test_renaming_an_indexed_column_renames_its_index(project):
    seed(project)
    edit_models(project, CAPTCHA_EMAIL, CAPTCHA_EMAIL.replace("email =", "address ="))
    result = project.manage("db", "migrate", "-m", "rename captcha email", typed=["yes"])
    assert ("Did you rename email_captcha.email to email_captcha.address? [y/N] yes\n"
            in result.stdout)
    project.manage("db", "upgrade")
    assert column_values(project, "email_captcha", "address") == [
        "ann@example.com", "bob@example.com"]
    assert "ix_email_captcha_address" in index_names(project, "email_captcha")
    assert "ix_email_captcha_email" not in index_names(project, "email_captcha")
    assert project.manage("db", "check").returncode == 0

    project.manage("db", "downgrade")
    assert "ix_email_captcha_email" in index_names(project, "email_captcha")
    assert column_values(project, "email_captcha", "email") == [
        "ann@example.com", "bob@example.com"]


def test_renaming_a_foreign_key_column(project):
    seed(project)
    old = '    question_id = db.Column(db.Integer, db.ForeignKey("question.id")'
    edit_models(project, old, old.replace("db.Column(", 'db.Column("qid", '))
    before = project.versions()
    project.manage("db", "migrate", "-m", "qid", "--rename", "answer.question_id:qid")
    (script,) = new_scripts(project, before)
    assert "existing_type=sa.Integer()" in script and "mysql" not in script

    project.manage("db", "upgrade")
    assert column_values(project, "answer", "qid") == [2]
    assert foreign_keys(project, "answer") == {("qid", "question"), ("author_id", "user")}
    assert "ix_answer_qid" in index_names(project, "answer")
    assert project.manage("db", "check").returncode == 0

    project.manage("db", "downgrade")
    assert column_values(project, "answer", "question_id") == [2]
    assert foreign_keys(project, "answer") == {("question_id", "question"), ("author_id", "user")}


def test_rename_option_that_matches_nothing_is_a_clear_error(project):
    seed(project)
    edit_models(project, TITLE, HEADLINE)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "x", "--rename", "question.titel:headline",
                            check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("--rename question.titel:headline: autogenerate found no removed column "
            "question.titel and added column question.headline (removed: title; added: "
            "headline). No script was written.") in result.stderr
    assert project.versions() == before

    result = project.manage("db", "migrate", "--rename", "title-headline", check=False)
    assert result.returncode == 1
    assert "--rename 'title-headline': write TABLE.OLD:NEW for a column" in result.stderr


# -- renamed tables -----------------------------------------------------------------------

def test_rename_table_answered_yes_keeps_the_rows(project):
    seed(project)
    edit_models(project, CAPTCHA_TABLE, '    __tablename__ = "captcha"\n')
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "rename captcha table", typed=["y"])
    assert "Did you rename table email_captcha to captcha? [y/N] y\n" in result.stdout
    (script,) = new_scripts(project, before)
    assert "op.rename_table('email_captcha', 'captcha')" in script
    assert "op.rename_table('captcha', 'email_captcha')" in script
    assert "drop_table" not in script

    rows = project.database.rows("email_captcha")
    project.manage("db", "upgrade")
    assert project.database.rows("captcha") == rows
    assert "email_captcha" not in project.database.tables()
    assert index_names(project, "captcha") == {"ix_captcha_email"}
    assert project.manage("db", "check").returncode == 0

    project.manage("db", "downgrade")
    assert project.database.rows("email_captcha") == rows
    assert index_names(project, "email_captcha") == {"ix_email_captcha_email"}


def test_renaming_a_table_that_foreign_keys_point_at(project):
    """question has indexes backing a foreign key, and answer's foreign key points at it."""
    seed(project)
    edit_models(project, '    __tablename__ = "question"\n', '    __tablename__ = "questions"\n')
    edit_models(project, 'db.ForeignKey("question.id")', 'db.ForeignKey("questions.id")')
    project.manage("db", "migrate", "-m", "plural questions", "--rename", "question:questions")
    questions, answers = project.database.rows("question"), project.database.rows("answer")

    project.manage("db", "upgrade")
    assert project.database.rows("questions") == questions
    assert project.database.rows("answer") == answers
    assert foreign_keys(project, "answer") == {("question_id", "questions"), ("author_id", "user")}
    assert index_names(project, "questions") == {"ix_questions_author_id",
                                                 "ix_questions_create_time", "ix_questions_seq"}
    assert project.manage("db", "check").returncode == 0

    project.manage("db", "downgrade")
    assert project.database.rows("question") == questions
    assert index_names(project, "question") == {"ix_question_author_id",
                                                "ix_question_create_time", "ix_question_seq"}
    assert foreign_keys(project, "answer") == {("question_id", "question"), ("author_id", "user")}


def test_rename_table_answered_no_writes_a_drop_that_upgrade_refuses(project):
    seed(project)
    edit_models(project, CAPTCHA_TABLE, '    __tablename__ = "captcha"\n')
    before = project.versions()
    # Enter: the default, no.
    result = project.manage("db", "migrate", "-m", "new captcha table", typed=[""])
    assert_in_order(result.stdout, "Did you rename table email_captcha to captcha? [y/N] \n",
                    "drops table email_captcha and every row in it")
    (script,) = new_scripts(project, before)
    assert "op.drop_table('email_captcha')" in script

    saved = state(project)
    result = project.manage("db", "upgrade", check=False)
    assert result.returncode == 1
    assert "drops table email_captcha, which holds 2 rows" in result.stderr
    assert state(project) == saved


def test_without_a_terminal_a_likely_table_rename_is_reported(project):
    seed(project)
    edit_models(project, CAPTCHA_TABLE, '    __tablename__ = "captcha"\n')
    result = project.manage("db", "migrate", "-m", "rename captcha table")
    assert ("    - table email_captcha -> captcha (same columns): the script drops table "
            "email_captcha and every row in it") in result.stderr
    assert "--rename email_captcha:captcha" in result.stderr


# -- the NOT NULL assistant ------------------------------------------------------------------

VIEWS_NOT_NULL = "    views = db.Column(db.Integer, nullable=False)\n"


def test_not_null_column_asks_for_a_value_and_fills_existing_rows(project):
    seed(project)
    add_question_column(project, VIEWS_NOT_NULL)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "add views", typed=["lots", "0"])
    prompt = "Value for existing rows of question.views (INTEGER); empty to stop: "
    assert_in_order(result.stdout,
                    "question.views is added as NOT NULL without a server default",
                    prompt + "lots\n",
                    "question.views is an integer: enter a whole number such as 0\n",
                    prompt + "0\n",
                    "adds question.views, fills existing rows with 0, then makes it NOT NULL")
    (script,) = new_scripts(project, before)
    add, fill, alter = (script.index("add_column(sa.Column('views', sa.Integer(), nullable=True))"),
                        script.index(".values({'views': 0})"), script.index("nullable=False)"))
    assert add < fill < alter

    project.manage("db", "upgrade")
    assert column_values(project, "question", "views") == [0, 0, 0]
    assert columns(project, "question")["views"][1] is False
    assert project.manage("db", "check").returncode == 0


def test_not_null_datetime_accepts_now(project):
    seed(project)
    add_question_column(project, "    edited = db.Column(db.DateTime, nullable=False)\n")
    result = project.manage("db", "migrate", "-m", "add edited", typed=["now"])
    assert ("Value for existing rows of question.edited (DATETIME); empty to stop: now\n"
            in result.stdout)
    project.manage("db", "upgrade")
    assert None not in column_values(project, "question", "edited")


def test_not_null_question_left_empty_stops_without_a_script(project):
    seed(project)
    add_question_column(project, VIEWS_NOT_NULL)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "add views", typed=[""], check=False)
    assert result.returncode == 1
    assert_in_order(result.stdout, "empty to stop: \n", "stopped: no script was written")
    assert "Traceback" not in result.stdout
    assert project.versions() == before


def test_without_a_terminal_a_not_null_column_needs_fill(project):
    seed(project)
    add_question_column(project, VIEWS_NOT_NULL)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "add views", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert ("db migrate needs a value for the rows that already exist. No script was "
            "written.\n  - question.views (INTEGER) is added as NOT NULL without a server "
            "default: the migration would fail on a question table that holds rows"
            ) in result.stderr
    assert "--fill question.views=VALUE" in result.stderr
    assert project.versions() == before

    bad = project.manage("db", "migrate", "-m", "add views", "--fill", "question.views=many",
                         check=False)
    assert bad.returncode == 1
    assert "--fill question.views: question.views is an integer" in bad.stderr
    assert project.versions() == before

    project.manage("db", "migrate", "-m", "add views", "--fill", "question.views=3")
    project.manage("db", "upgrade")
    assert column_values(project, "question", "views") == [3, 3, 3]


def test_not_null_unique_column_is_refused_with_advice(project):
    seed(project)
    add_question_column(project, "    slug = db.Column(db.String(50), nullable=False, "
                                 "unique=True)\n")
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "add slug", typed=[], check=False)
    assert result.returncode == 1
    assert ("question.slug is added as NOT NULL and unique without a server default: one value "
            "for every existing row would repeat it.") in result.stdout
    assert "empty to stop" not in result.stdout
    assert project.versions() == before


def test_no_input_asks_nothing_even_on_a_terminal(project):
    seed(project)
    add_question_column(project, VIEWS_NOT_NULL)
    result = project.manage("db", "migrate", "-m", "add views", "--no-input", typed=[],
                            check=False)
    assert result.returncode == 1
    assert "empty to stop" not in result.stdout
    assert "--fill question.views=VALUE" in result.stdout


# -- the list of destructive operations -------------------------------------------------------

def test_migrate_lists_every_destructive_operation(project):
    seed(project)
    edit_models(project, "    attempts = db.Column(db.Integer, nullable=False, default=0)\n", "")
    edit_models(project, TITLE, "    title = db.Column(db.String(50), nullable=False)\n")
    edit_models(project, "    username = db.Column(db.String(100), nullable=False)",
                "    username = db.Column(db.String(100), nullable=False, unique=True)")
    result = project.manage("db", "migrate", "-m", "several")
    report = result.stderr[result.stderr.index("Destructive operations in"):]
    upgrade, downgrade = report.split("  downgrade():")
    assert "    - drops column email_captcha.attempts and its values" in upgrade
    assert ("    - narrows question.title from VARCHAR(200) to VARCHAR(50): longer values "
            "would be cut (refused while any exist)") in upgrade
    assert "    - adds unique constraint uq_user_username on user (username)" in upgrade
    # The downgrade re-adds it nullable, puts back the values db upgrade kept, then NOT NULL.
    assert "makes email_captcha.attempts NOT NULL (refused while it holds NULLs)" in downgrade


def test_migrate_of_a_harmless_change_lists_nothing(project):
    seed(project)
    edit_models(project, TITLE, TITLE.replace("nullable=False", "nullable=False, index=True"))
    result = project.manage("db", "migrate", "-m", "index title")
    assert "Generating" in result.stdout
    assert "Destructive" not in result.stderr
    assert "post write hook" not in result.stdout


def test_adding_a_nullable_column_lists_only_the_downgrade_drop(project):
    seed(project)
    add_question_column(project, "    views = db.Column(db.Integer, nullable=True)\n")
    result = project.manage("db", "migrate", "-m", "add views")
    report = result.stderr[result.stderr.index("Destructive operations in"):]
    assert "upgrade():" not in report.replace("downgrade():", "")
    assert "  downgrade():\n    - drops column question.views and its values" in report


# -- flask db migrate ----------------------------------------------------------------------

def test_flask_db_migrate_takes_the_same_answers_as_x_arguments(project):
    seed(project)
    edit_models(project, TITLE, HEADLINE)
    refused = flask(project, "db", "migrate", "-m", "rename title", check=False)
    assert refused.returncode == 1
    assert "-x rename=question.title:headline" in refused.stderr
    assert "-x fill=question.headline=VALUE" in refused.stderr

    flask(project, "db", "migrate", "-m", "rename title", "-x", "rename=question.title:headline")
    flask(project, "db", "upgrade")
    assert column_values(project, "question", "headline") == TITLES


def test_flask_db_migrate_asks_on_a_terminal(project):
    seed(project)
    add_question_column(project, "    views = db.Column(db.Integer, nullable=False, default=0)\n")
    result = flask(project, "db", "migrate", "-m", "add views", typed=["4"])
    assert_in_order(result.stdout, "rows question already holds need a value. The model's "
                    "default for new rows is 0.", "empty to stop: 4\n")
    project.manage("db", "upgrade")
    assert column_values(project, "question", "views") == [4, 4, 4]
