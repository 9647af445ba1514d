"""db check, and the help texts that show the schema_safety options."""
import pytest

from tests.schema_safety_support import edit_models, flask, head, seed


def test_check_passes_when_models_match_the_migrations_at_head(project):
    seed(project)
    result = project.manage("db", "check")
    assert result.returncode == 0
    assert f"Models match the migrations at head ({head(project)})." in result.stdout


def test_check_lists_model_changes_without_a_migration(project):
    seed(project)
    edit_models(project, '    __tablename__ = "question"\n\n    id = db.Column(db.Integer, '
                'primary_key=True)\n', '    __tablename__ = "question"\n\n    id = db.Column('
                'db.Integer, primary_key=True)\n    views = db.Column(db.Integer, nullable=True)\n')
    edit_models(project, "    title = db.Column(db.String(200), nullable=False)",
                "    title = db.Column(db.String(300), nullable=False)")
    before = project.versions()
    result = project.manage("db", "check", check=False)
    assert result.returncode == 1
    assert ("Models differ from the migrations at head: these changes have no migration yet:"
            in result.stdout)
    assert "  - add column question.views (INTEGER, NULL)" in result.stdout
    assert "  - alter column question.title: type VARCHAR(200) -> VARCHAR(300)" in result.stdout
    assert 'python manage.py db migrate -m "describe the change"' in result.stdout
    assert project.versions() == before, "db check writes no script"

    project.manage("db", "migrate", "-m", "views and longer title")
    project.manage("db", "upgrade")
    assert project.manage("db", "check").returncode == 0


def test_check_on_a_database_behind_head_says_what_to_do(project):
    before = project.database.tables()
    result = project.manage("db", "check", check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("Error: the database is at base (no revision), not at head "
            f"({head(project)}): db check compares the models with a database at head. "
            "Run db upgrade first") in result.stderr
    assert project.database.tables() - before <= {"alembic_version"}


def test_db_help_lists_check_and_the_safety_options(project):
    db_help = " ".join(project.manage("db", "--help").stdout.split())
    assert "check" in db_help and "Exit 0 when the models match the migrations at head" in db_help
    assert "refuses to lose data unless --allow-data-loss" in db_help

    for command in ("upgrade", "downgrade"):
        text = " ".join(project.manage("db", command, "--help").stdout.split())
        assert "--allow-data-loss" in text
        assert "NULLs under a new NOT NULL and duplicates under a new unique index" in text
    migrate_help = " ".join(project.manage("db", "migrate", "--help").stdout.split())
    for option in ("--rename TABLE.OLD:NEW | OLD:NEW", "--fill TABLE.COLUMN=VALUE",
                   "--no-input", "-m MESSAGE"):
        assert option in migrate_help


@pytest.mark.parametrize("args, message", [
    (["db", "migrate", "--fill", "views=1"], "--fill 'views=1': write TABLE.COLUMN=VALUE"),
    (["db", "migrate", "--rename", "a.b.c:d"], "--rename 'a.b.c:d': write TABLE.OLD:NEW"),
])
def test_malformed_options_are_one_line_errors(project, args, message):
    before = project.versions()
    result = project.manage(*args, check=False)
    assert result.returncode == 1
    assert result.stderr.startswith(f"Error: {message}")
    assert result.stderr.strip().count("\n") == 0
    assert project.versions() == before


def test_flask_db_keeps_flask_migrates_commands(project):
    """flask db has Flask-Migrate 2.7's commands; db check exists only in manage.py."""
    seed(project)
    text = flask(project, "db", "--help").stdout
    for command in ("migrate", "upgrade", "downgrade"):
        assert command in text
    assert "check" not in text.split("Commands:")[1]
