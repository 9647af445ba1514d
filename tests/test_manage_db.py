"""Every ``python manage.py db ...`` subcommand, run as a user runs it, on a copy of the project."""
import re

import pytest

from tests.backends import database_unused


def tables(project):
    return project.database.tables()


def query(project, sql):
    return [tuple(row) for row in project.database.execute(sql)]


def head_revision(project):
    out = project.manage("db", "heads").stdout
    return re.search(r"([0-9a-f]{12}) \(head\)", out).group(1)


@database_unused
def test_init_creates_a_repository_in_a_scratch_folder(project, tmp_path):
    scratch = tmp_path / "scratch" / "migrations"
    result = project.manage("db", "init", "-d", str(scratch))
    assert {"alembic.ini", "env.py", "script.py.mako", "versions"} <= {
        p.name for p in scratch.iterdir()
    }
    assert "Creating directory" in result.stdout


@database_unused
def test_init_on_the_shipped_repository_is_a_one_line_error(project):
    before = project.versions()
    result = project.manage("db", "init", check=False)
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "already exists" in result.stderr and "db upgrade" in result.stderr
    assert project.versions() == before


def test_upgrade_current_history_show(project):
    project.manage("db", "upgrade")
    assert {"alembic_version", "user", "email_captcha", "question", "answer"} <= tables(project)
    head = head_revision(project)
    assert head in project.manage("db", "current").stdout
    history = project.manage("db", "history", "-i").stdout
    assert head in history and "(current)" in history
    show = project.manage("db", "show", head).stdout
    assert f"Rev: {head} (head)" in show


def test_migrate_on_a_database_at_head_writes_nothing(project):
    project.manage("db", "upgrade")
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "nothing changed")
    assert "No changes in schema detected" in result.stderr
    assert project.versions() == before


def test_revision_heads_branches_merge(project):
    project.manage("db", "upgrade")
    base_head = head_revision(project)
    project.manage("db", "revision", "-m", "first branch", "--rev-id", "aaaaaaaaaaaa")
    project.manage("db", "revision", "-m", "second branch", "--rev-id", "bbbbbbbbbbbb",
                   "--head", base_head, "--splice")
    heads = project.manage("db", "heads").stdout
    assert "aaaaaaaaaaaa (head)" in heads and "bbbbbbbbbbbb (head)" in heads
    branches = project.manage("db", "branches").stdout
    assert base_head in branches and "(branchpoint)" in branches

    # With two heads, a plain upgrade is refused with a one-line error.
    refused = project.manage("db", "upgrade", check=False)
    assert refused.returncode == 1 and "Multiple head revisions" in refused.stderr

    project.manage("db", "merge", "heads", "-m", "merge branches", "--rev-id", "cccccccccccc")
    assert "cccccccccccc (head)" in project.manage("db", "heads").stdout
    project.manage("db", "upgrade")
    assert "cccccccccccc" in project.manage("db", "current").stdout


def test_edit_opens_the_revision_in_the_editor(project):
    result = project.manage("db", "edit", "head", env={"EDITOR": "true"})
    assert result.returncode == 0
    failed = project.manage("db", "edit", "head", env={"EDITOR": "false"}, check=False)
    assert failed.returncode == 1


def test_downgrade_and_stamp(project):
    project.manage("db", "upgrade")
    head = head_revision(project)
    project.manage("db", "downgrade", "base")
    assert tables(project) == {"alembic_version"}
    assert head not in project.manage("db", "current").stdout

    # stamp records a revision without running it (--force: the tables are not there; without
    # it db stamp refuses a schema that differs, test_adopt.py).
    project.manage("db", "stamp", "--force", head)
    assert query(project, "SELECT version_num FROM alembic_version") == [(head,)]
    assert "user" not in tables(project)
    project.manage("db", "stamp", "base")
    assert query(project, "SELECT version_num FROM alembic_version") == []
    project.manage("db", "upgrade")
    assert "question" in tables(project)


def test_upgrade_sql_prints_ddl_without_touching_the_database(project):
    result = project.manage("db", "upgrade", "--sql")
    assert "CREATE TABLE question" in result.stdout
    assert "CONSTRAINT fk_answer_question_id_question" in result.stdout
    assert tables(project) == set()


@database_unused
def test_sql_mode_for_mysql_needs_no_server_and_never_prints_the_password(project):
    url = "mysql+pymysql://app:s3cr%40t@127.0.0.1:9/qa?charset=utf8mb4"
    result = project.manage("db", "upgrade", "--sql", env={"DATABASE_URL": url})
    assert "CREATE TABLE question" in result.stdout
    assert "AUTO_INCREMENT" in result.stdout  # rendered for MySQL, not SQLite
    assert "s3cr" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["db", "upgrade", "nosuchrev"], "Can't locate revision identified by 'nosuchrev'"),
        (["db", "downgrade", "nosuchrev"], "Can't locate revision identified by 'nosuchrev'"),
        (["db", "show", "nosuchrev"], "Can't locate revision identified by 'nosuchrev'"),
        (["db", "stamp", "nosuchrev"], "Can't locate revision identified by 'nosuchrev'"),
    ],
)
def test_unknown_revision_is_a_one_line_error(project, args, message):
    result = project.manage(*args, check=False)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "Error" in line]
    assert len(errors) == 1


@database_unused
@pytest.mark.parametrize(
    "url, message",
    [
        ("mysql+pymysql://app:hunter22@127.0.0.1:9/qa", "Can't connect to MySQL server"),
        ("sqlite:////nonexistent-folder/sub/app.db", "unable to open database file"),
    ],
)
def test_unreachable_database_is_a_one_line_error(project, url, message):
    result = project.manage("db", "upgrade", check=False, env={"DATABASE_URL": url})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1 and message in error_lines[0]
    assert "hunter22" not in result.stderr


@database_unused
def test_unknown_command_and_option_exit_non_zero(project):
    result = project.manage("db", "upgrayedd", check=False)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    assert "Traceback" not in result.stderr


def test_flask_cli_uses_the_same_migrations(project):
    project.flask("db", "upgrade")
    head = head_revision(project)
    out = project.flask("db", "current").stdout
    assert head in out
    assert "question" in tables(project)
