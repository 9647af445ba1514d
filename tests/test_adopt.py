"""db adopt: databases made without migrations (db.create_all(), a lost alembic_version)."""
import contextlib

import pytest
import sqlalchemy as sa
from alembic.runtime.migration import MigrationContext
from alembic.operations import Operations
from alembic.script import ScriptDirectory

import db_objects
from app import create_app
from exts import db
from migration_safety.lock import migration_lock
from migration_safety.names import KEEP_PREFIX
from migration_safety.schemadiff import SQLITE_REBUILD
from migration_safety.triggers import TriggerKeeper
from tests.backends import database_unused, mariadb_only, sqlite_only
from tests.cli import ROOT
from tests.rows import fill_every_table, kept, snapshot

ADOPT = "python manage.py db adopt"
NO_HISTORY = ("The database has the app's tables but no migration history (no revision in "
              "alembic_version, as db.create_all() leaves it): run 'python manage.py db adopt' "
              "to find the revision it matches and record it")


def history():
    """Every revision of the project's migrations, base first."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    return [s.revision for s in reversed(list(script.walk_revisions("base", "heads")))]


# Revisions that change nothing on a backend: a database at the revision before one matches
# both, and adopt names the newer, with the older as alike. Mroonga's recent tier
# (ab061ce821c9) is MariaDB's alone.
UNCHANGED_ON = {"sqlite": {"ab061ce821c9"}}


def same_schema(revision, backend):
    """*revision* and its neighbours in the history with its schema on *backend*, newest first."""
    revisions, unchanged = history(), UNCHANGED_ON.get(backend, set())
    start = end = revisions.index(revision)
    while end + 1 < len(revisions) and revisions[end + 1] in unchanged:
        end += 1
    while start > 0 and revisions[start] in unchanged:
        start -= 1
    return revisions[start:end + 1][::-1]


@contextlib.contextmanager
def altering(database):
    """Alembic operations on *database*, in one transaction; on SQLite the triggers of a table
    rebuilt keep, as they do in a migration."""
    with database.engine.begin() as conn, \
            Operations.context(MigrationContext.configure(conn)) as op:
        keeper = TriggerKeeper(conn) if conn.dialect.name == "sqlite" else None
        if keeper:
            keeper.before()
        yield op
        if keeper:
            keeper.after()


def create_all(database):
    """What a tutorial's ``db.create_all()`` makes from today's models."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    with app.app_context():
        db.create_all()
        db.engine.dispose()


def schema(database):
    """Everything a comparison could look at, as the database reports it, to prove that a
    refused command changed nothing."""
    inspector = sa.inspect(database.engine)
    return {name: (repr(inspector.get_columns(name)), inspector.get_indexes(name),
                   inspector.get_foreign_keys(name), inspector.get_unique_constraints(name))
            for name in inspector.get_table_names()}


def one_error_line(result):
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    return errors[0]


@pytest.mark.parametrize("revision", history())
def test_every_revision_without_its_history_is_adopted_there_and_upgrades_with_its_rows(
        project, revision):
    project.manage("db", "upgrade", revision)
    fill_every_table(project.database)
    project.database.execute("DROP TABLE alembic_version")
    rows = snapshot(project)
    assert all(rows.values()), rows

    result = project.manage("db", "adopt")
    found, *alike = same_schema(revision, project.database.backend)
    script = ScriptDirectory(str(project.root / "migrations")).get_revision(found)
    assert result.stdout.startswith(
        f"The database matches revision {found} ({script.doc}) exactly: stamped it.")
    assert project.database.revisions() == [found]
    assert (f"Note: the older revision(s) {', '.join(alike)} have the same schema"
            in result.stdout) == bool(alike)

    project.manage("db", "upgrade")
    assert project.database.revisions() == [project.head()]
    assert kept(rows, snapshot(project))


def test_a_create_all_database_is_adopted_at_head(project):
    create_all(project.database)
    head = project.head()
    dry = project.manage("db", "adopt", "--dry-run")
    assert f"matches revision {head} " in dry.stdout
    assert "--dry-run: nothing was stamped." in dry.stdout
    assert project.database.revisions() == []

    result = project.manage("db", "adopt")
    assert result.stdout.splitlines()[0].endswith("stamped it. It is the head: the database "
                                                  "is up to date.")
    assert project.database.revisions() == [head]
    assert project.manage("db", "check").returncode == 0
    again = project.manage("db", "adopt")
    assert again.stdout.startswith(f"The database is already at revision {head}: nothing to "
                                   "adopt")


def test_tables_migration_safety_keeps_for_itself_are_not_differences(project):
    create_all(project.database)
    # What --allow-data-loss kept: as invisible to adopt as to autogenerate (names.py).
    project.database.execute(f"CREATE TABLE {KEEP_PREFIX}1_question (id INTEGER PRIMARY KEY)")
    project.manage("db", "adopt")
    assert project.database.revisions() == [project.head()]


def _drift(database):
    """An extra column, another type and a missing index, through Alembic's own operations
    (a table rebuild on SQLite)."""
    with altering(database) as op:
        with op.batch_alter_table("question") as batch:
            batch.add_column(sa.Column("views", sa.Integer(), nullable=True))
            batch.alter_column("title", type_=sa.String(300), existing_nullable=False)
            batch.drop_index("ix_question_create_time")


def _expected_drift(backend):
    if backend == "sqlite":
        title, views = ("VARCHAR(300)", "VARCHAR(200)"), "INTEGER"
        convert = f"convert it if every value fits {SQLITE_REBUILD}"
    else:
        title, views = ("varchar(300)", "varchar(200)"), "int(11)"
        convert = ("convert it if every value fits (ALTER TABLE question MODIFY title "
                   "varchar(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL)")
    return [
        "  table question:",
        f"    - column title: type {title[0]}, the revision has {title[1]}: a decision for you: "
        f"{convert}, or make the model say {title[0]} and write a migration",
        f"    - column views ({views}) is not in the revision: drop it once nothing reads it "
        "(ALTER TABLE question DROP COLUMN views), or add it to the model and write a migration",
        "    - index ix_question_create_time (create_time) is missing: create it (CREATE INDEX "
        "ix_question_create_time ON question (create_time))",
    ]


def test_a_database_matching_no_revision_gets_the_differences_and_is_left_alone(project,
                                                                                 backend):
    create_all(project.database)
    _drift(project.database)
    before = schema(project.database)
    head = project.head()

    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    assert one_error_line(result) == ("Error: the database matches no revision; nothing was "
                                      "changed")
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"The database matches no revision of the migration history. "
                               f"Closest: revision {head} (")
    assert lines[0].endswith("with 3 difference(s):")
    assert lines[1:-1] == _expected_drift(backend)
    assert lines[-1] == (f"Fix these, then run db adopt again. (Or record the closest revision "
                         f"anyway, 'python manage.py db stamp --force {head}', and let a "
                         "migration settle the differences you keep: db migrate lists them.)")
    assert schema(project.database) == before and "alembic_version" not in before

    # --dry-run reports the same and changes nothing either.
    dry = project.manage("db", "adopt", "--dry-run", check=False)
    assert dry.returncode == 1 and dry.stdout == result.stdout
    assert schema(project.database) == before

    # db stamp no longer hides the differences.
    refused = project.manage("db", "stamp", "head", check=False)
    assert refused.returncode == 1
    assert one_error_line(refused) == (
        f"Error: refusing to stamp {head}: its schema is not the database's ('{ADOPT}' finds "
        "the revision it matches; --force stamps anyway)")
    assert refused.stdout.splitlines()[1:] == _expected_drift(backend)
    assert schema(project.database) == before
    project.manage("db", "stamp", "--force", "head")
    assert project.database.revisions() == [head]


def test_keys_checks_uniques_nullability_and_defaults_are_compared(project, backend):
    create_all(project.database)
    with altering(project.database) as op:
        with op.batch_alter_table("answer") as batch:
            batch.drop_constraint("fk_answer_question_id_question", type_="foreignkey")
            batch.create_check_constraint("ck_answer_short", "length(content) < 1000")
            batch.alter_column("content", existing_type=sa.Text(), nullable=True)
        with op.batch_alter_table("email_captcha") as batch:
            batch.alter_column("attempts", existing_type=sa.Integer(), server_default="0")
            batch.create_unique_constraint("uq_email_captcha_captcha", ["captcha"])
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    if backend == "sqlite":
        fixes = [f"fill the NULLs, then make it NOT NULL {SQLITE_REBUILD}",
                 f"create it {SQLITE_REBUILD}", "length(content) < 1000",
                 f"drop it if nothing needs it {SQLITE_REBUILD}", "'0'",
                 f"set it as the revision has it {SQLITE_REBUILD}",
                 f"unique constraint uq_email_captcha_captcha (captcha) is not in the revision: "
                 f"drop it if nothing needs it {SQLITE_REBUILD}"]
    else:
        fixes = ["fill the NULLs, then make it NOT NULL (ALTER TABLE answer MODIFY content text "
                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL)",
                 "create it (ALTER TABLE answer ADD CONSTRAINT fk_answer_question_id_question "
                 "FOREIGN KEY (question_id) REFERENCES question (id))",
                 "octet_length(`content`) < 1000",
                 "drop it if nothing needs it (ALTER TABLE answer DROP CONSTRAINT "
                 "ck_answer_short)", "0",
                 "set it as the revision has it (ALTER TABLE email_captcha MODIFY attempts "
                 "int(11) NOT NULL)",
                 "index uq_email_captcha_captcha unique (captcha) is not in the revision: drop "
                 "it if nothing needs it (DROP INDEX uq_email_captcha_captcha ON email_captcha)"]
    assert result.stdout.splitlines()[1:-1] == [
        "  table answer:",
        f"    - column content: NULL allowed, the revision has NOT NULL: {fixes[0]}",
        "    - foreign key fk_answer_question_id_question (question_id) -> question (id) is "
        f"missing: {fixes[1]}",
        f"    - check ck_answer_short ({fixes[2]}) is not in the revision: {fixes[3]}",
        "  table email_captcha:",
        f"    - column attempts: server default {fixes[4]}, the revision has none: {fixes[5]}",
        f"    - {fixes[6]}",
    ]
    assert project.database.revisions() == []


def test_a_tutorial_database_without_a_naming_convention_gets_its_keys_named(project,
                                                                               backend):
    """The tutorials' SQLAlchemy() has no naming convention: their foreign keys have no name
    (SQLite) or the server's (MySQL), and later migrations drop constraints by name."""
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": project.database.url})
    with app.app_context():
        metadata = sa.MetaData()
        for table in db.metadata.sorted_tables:
            table.to_metadata(metadata)
        for table in metadata.tables.values():
            for constraint in table.constraints:
                constraint.name = None
        metadata.create_all(db.engine)
        with db.engine.begin() as connection:  # the triggers are not what this test is about
            db_objects.create_all(connection)
        db.engine.dispose()
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    # Every foreign key of every table, as the database calls it (the server's name on MySQL,
    # its place among the table's unnamed keys on SQLite), and as the revision names it.
    inspector = sa.inspect(project.database.engine)
    index_names = {index.name for table in metadata.tables.values() for index in table.indexes}
    expected = []
    for table in sorted(inspector.get_table_names()):
        keys = []
        for number, key in enumerate(inspector.get_foreign_keys(table), 1):
            column, parent = key["constrained_columns"][0], key["referred_table"]
            keys.append((f"fk_{table}_{column}_{parent}", key["name"] or f"unnamed {number}",
                         column, parent))
        if keys:
            expected.append(f"  table {table}:")
        for name, server, column, parent in sorted(keys):
            if backend == "sqlite":
                assert server.startswith("unnamed ")
                expected.append(f"    - foreign key {server} ({column}) -> {parent} (id) is "
                                f"named {name} in the revision: name it {name} "
                                f"{SQLITE_REBUILD}")
            else:
                assert server.startswith(f"{table}_ibfk_")
                expected.append(
                    f"    - foreign key {server} ({column}) -> {parent} (id) is named {name} in "
                    f"the revision: drop it (ALTER TABLE {table} DROP FOREIGN KEY {server}) and "
                    f"create it again (ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY "
                    f"({column}) REFERENCES {parent} (id))")
        # MySQL reports unique indexes as unique constraints too: the models' indexes kept
        # their names.
        uniques = [(key["column_names"], key["name"] or f"unnamed {number}")
                   for number, key in enumerate(inspector.get_unique_constraints(table), 1)
                   if key["name"] not in index_names]
        if uniques and not keys:
            expected.append(f"  table {table}:")
        for columns, server in uniques:
            name = f"uq_{table}_{'_'.join(columns)}"
            if backend == "sqlite":
                expected.append(f"    - unique constraint {server} ({', '.join(columns)}) is "
                                f"named {name} in the revision: name it {name} {SQLITE_REBUILD}")
            else:
                expected.append(f"    - index {server} unique ({', '.join(columns)}) is named "
                                f"{name} in the revision: rename it (ALTER TABLE {table} RENAME "
                                f"INDEX {server} TO {name})")
    assert len(expected) >= 2, "the models have foreign keys"
    assert result.stdout.splitlines()[1:-1] == expected
    if backend == "mariadb":  # the statements offered are the fix
        for line in expected:
            for statement in line.split("(ALTER TABLE ")[1:]:
                project.database.execute("ALTER TABLE " + statement.rsplit(")", 1)[0])
        project.manage("db", "adopt")
        assert project.database.revisions() == [project.head()]


def test_stamp_of_the_revision_the_database_matches_needs_no_force(project):
    create_all(project.database)
    project.manage("db", "stamp", "head")
    assert project.database.revisions() == [project.head()]
    project.manage("db", "stamp", "base")
    assert project.database.revisions() == []


@pytest.mark.parametrize("command", [["upgrade"], ["upgrade", "head"], ["downgrade", "base"]])
def test_upgrade_or_downgrade_of_a_create_all_database_is_refused_before_any_write(
        project, command):
    create_all(project.database)
    fill_every_table(project.database)
    before, rows = schema(project.database), snapshot(project)
    result = project.manage("db", *command, check=False)
    assert result.returncode == 1
    assert one_error_line(result) == f"Error: {NO_HISTORY}. Nothing was changed."
    assert schema(project.database) == before
    assert snapshot(project) == rows


def test_current_check_healthz_and_the_start_up_warning_name_db_adopt(project):
    create_all(project.database)
    assert project.manage("db", "current").stdout == NO_HISTORY + "\n"
    check = project.manage("db", "check", check=False)
    assert check.returncode == 1 and one_error_line(check) == f"Error: {NO_HISTORY}"
    with project.wsgi_app() as (app, log):
        client = app.test_client()
        first, second = client.get("/healthz"), client.get("/healthz")
    assert first.status_code == 503
    assert first.get_json() == {"status": "no-history", "revision": None,
                                "head": project.head()}
    assert second.status_code == 503
    assert log.getvalue().count(NO_HISTORY) == 1
    assert "alembic_version" not in project.database.tables()


def test_a_revision_the_scripts_do_not_have_is_named_and_adopt_replaces_it(project):
    project.manage("db", "upgrade")
    project.database.execute("UPDATE alembic_version SET version_num = '0123456789ab'")
    unknown = ("The database is at revision 0123456789ab, which this code's migrations do not "
               "have: if a newer release migrated it, deploy that release (or downgrade with "
               f"it); if its migration history was lost, run '{ADOPT}'")
    upgrade = project.manage("db", "upgrade", check=False)
    assert upgrade.returncode == 1
    assert one_error_line(upgrade) == f"Error: {unknown}. Nothing was changed."
    assert project.manage("db", "current").stdout == unknown + "\n"

    project.manage("db", "adopt")
    assert project.database.revisions() == [project.head()]


def test_adopt_on_an_empty_database_says_upgrade_creates_the_tables(project):
    result = project.manage("db", "adopt")
    assert result.stdout == ("The database has none of the app's tables: nothing to adopt "
                             "('python manage.py db upgrade' creates them).\n")
    assert project.database.tables() == set()


@mariadb_only
def test_a_latin1_table_is_a_difference_with_the_conversion_to_run(project):
    create_all(project.database)
    fill_every_table(project.database)
    project.database.execute("UPDATE question SET title = 'Café crème'")  # latin1 holds it
    project.database.execute("ALTER TABLE question CONVERT TO CHARACTER SET latin1")
    rows = snapshot(project)

    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[1:3] == [
        "  table question:",
        "    - character set latin1 (latin1_swedish_ci), the revision has utf8mb4 "
        "(utf8mb4_unicode_ci); columns title latin1_swedish_ci, content latin1_swedish_ci: "
        "convert it (re-encodes the text; nothing is lost going to utf8mb4): ALTER TABLE "
        "question DEFAULT CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci, MODIFY title "
        "varchar(200) CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL, MODIFY "
        "content text CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci NOT NULL",
    ]

    # The statement offered is the whole fix: the database then matches head.
    project.database.execute(lines[2].split(": ", 2)[2])
    project.manage("db", "adopt")
    assert project.database.revisions() == [project.head()]
    assert snapshot(project) == rows


@sqlite_only
def test_upgrade_refusal_is_one_line_and_exit_1_from_a_real_process(project):
    create_all(project.database)
    result = project.process("manage.py", "db", "upgrade", check=False)
    assert result.returncode == 1
    assert one_error_line(result) == f"Error: {NO_HISTORY}. Nothing was changed."
    assert "alembic_version" not in project.database.tables()


TRIGGER = '''
if op.get_bind().dialect.name == "sqlite":
    op.execute("CREATE TRIGGER question_touch AFTER UPDATE ON question BEGIN SELECT 1; END")
else:
    op.execute("CREATE TRIGGER question_touch BEFORE UPDATE ON question FOR EACH ROW "
               "SET NEW.title = NEW.title")
'''


def test_triggers_tell_apart_revisions_whose_tables_are_the_same(project):
    before = project.head()
    project.add_revision("7e7e7e7e7e7e", "question trigger", TRIGGER,
                         "op.execute('DROP TRIGGER question_touch')")
    project.manage("db", "upgrade", before)
    project.database.execute("DROP TABLE alembic_version")
    project.manage("db", "adopt")
    assert project.database.revisions() == [before]

    project.manage("db", "upgrade")
    project.database.execute("DROP TABLE alembic_version")
    result = project.manage("db", "adopt")
    assert project.database.revisions() == ["7e7e7e7e7e7e"]
    assert "Note:" not in result.stdout


def test_a_revision_that_changes_only_data_is_named_as_alike(project):
    before = project.head()
    project.add_revision("dadadadadada", "fill titles", "op.execute(\"UPDATE question SET "
                         "title = 'untitled' WHERE title = ''\")")
    create_all(project.database)
    result = project.manage("db", "adopt")
    assert project.database.revisions() == ["dadadadadada"]
    assert result.stdout.splitlines()[1] == (
        f"Note: the older revision(s) {', '.join(same_schema(before, project.database.backend))} "
        "have the same schema (the revisions after them "
        "change only data, or what adopt does not compare): if those changes were never made "
        "to this database, stamp the revision it is at instead ('python manage.py db stamp "
        "REVISION').")


@mariadb_only  # only MySQL leaves a revision half-applied (SQLite rolls it back)
def test_a_first_revision_failed_half_way_is_resumed_not_sent_to_adopt(project):
    first = history()[0]
    path = next((project.root / "migrations" / "versions").glob(f"*_{first}_*.py"))
    source = path.read_text()
    # Raw SQL that fails once the first table exists: the gate cannot read it in advance.
    index = source.index("op.create_table(", source.index("def upgrade") + 1)
    index = source.index("op.create_table(", index + 1)
    path.write_text(source[:index] + "op.execute('SELECT * FROM no_such_table')\n    "
                    + source[index:])
    failed = project.manage("db", "upgrade", check=False)
    assert failed.returncode == 1 and "failed at operation" in failed.stderr
    assert project.database.tables() - {"alembic_version", "alembic_progress"}

    again = project.manage("db", "upgrade", check=False)
    assert again.returncode == 1 and "failed at operation" in again.stderr
    assert "db adopt" not in again.stderr
    assert "db adopt" not in project.manage("db", "current").stdout


@mariadb_only
def test_a_user_who_cannot_create_the_scratch_database_gets_one_line(project):
    create_all(project.database)
    # A history no earlier test built the schemas of (they are kept per history).
    project.add_revision("5c5c5c5c5c5c", "nothing", "pass")
    name = project.database.name
    user = f"adopt_{name[-12:]}"
    project.database.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'")
    try:
        project.database.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
        url = sa.engine.make_url(project.database.url).set(username=user, password="pw")
        result = project.manage("db", "adopt", check=False,
                                env={"DATABASE_URL": url.render_as_string(hide_password=False)})
    finally:
        project.database.execute(f"DROP USER '{user}'@'%'")
    assert result.returncode == 1
    error = one_error_line(result)
    assert error.startswith("Error: db adopt compares the database with each revision's schema "
                            "built in a scratch database, and could not create one (")
    assert "Access denied for user" in error
    assert error.endswith("grant this user CREATE and DROP on databases, or run db adopt as a "
                          "user who has them")
    assert "pw@" not in result.stderr
    assert project.database.revisions() == []


@database_unused
def test_help_lists_adopt_and_stamp_force(project):
    db_help = " ".join(project.manage("db", "--help").stdout.split())
    assert ("adopt Find the revision a database made without migrations (db.create_all()) "
            "matches; stamp it.") in db_help
    stamp_help = " ".join(project.manage("db", "stamp", "--help").stdout.split())
    assert "--force stamp even though the database's schema differs from the revision's" in \
        stamp_help


def test_index_kinds_are_compared(project, backend, recwarn):
    """Partial and expression indexes (SQLite), FULLTEXT and prefix lengths (MySQL)."""
    create_all(project.database)
    if backend == "sqlite":
        statements = ["CREATE INDEX ix_lower ON question (lower(title))",
                      "DROP INDEX ix_email_captcha_email",
                      "CREATE INDEX ix_email_captcha_email ON email_captcha (email) WHERE used = 0"]
        changed, drop = "where used = 0", "DROP INDEX ix_email_captcha_email"
        extra = ("    - index ix_lower (CREATE INDEX ix_lower ON question (lower(title))) is not "
                 "in the revision: drop it if nothing needs it (DROP INDEX ix_lower)")
    else:
        statements = ["CREATE FULLTEXT INDEX ft_question ON question (title, content)",
                      "DROP INDEX ix_email_captcha_email ON email_captcha",
                      "CREATE INDEX ix_email_captcha_email ON email_captcha (email(20))"]
        changed = "lengths email(20)"
        drop = "DROP INDEX ix_email_captcha_email ON email_captcha"
        extra = ("    - index ft_question fulltext (title, content) is not in the revision: drop "
                 "it if nothing needs it (DROP INDEX ft_question ON question)")
    for statement in statements:
        project.database.execute(statement)
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    # SQLAlchemy skips expression indexes with a warning; adopt reads them itself, silently.
    assert [w for w in recwarn if issubclass(w.category, sa.exc.SAWarning)] == []
    assert result.stdout.splitlines()[1:-1] == [
        "  table email_captcha:",
        f"    - index ix_email_captcha_email is (email) {changed}, the revision has (email): "
        f"drop it ({drop}) and create it again (CREATE INDEX ix_email_captcha_email ON "
        "email_captcha (email))",
        "  table question:",
        extra,
    ]


def test_flask_db_upgrade_is_refused_the_same_way(project):
    create_all(project.database)
    result = project.flask("db", "upgrade", check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    # Flask-Migrate logs its errors: "ERROR [flask_migrate] Error: ..."
    errors = [line for line in result.stderr.splitlines() if "Error: " in line]
    assert len(errors) == 1
    assert errors[0].endswith(f"Error: {NO_HISTORY}. Nothing was changed.")
    assert "alembic_version" not in project.database.tables()


def test_tables_of_another_app_alone_do_not_stop_db_upgrade(project):
    """A database shared with something else is not a create_all() database of this app."""
    project.database.execute("CREATE TABLE legacy_stuff (id INTEGER PRIMARY KEY)")
    assert "db adopt" not in project.manage("db", "current").stdout
    project.manage("db", "upgrade")
    assert project.database.revisions() == [project.head()]
    assert "legacy_stuff" in project.database.tables()


def test_stamp_replaces_a_revision_the_scripts_do_not_have_when_the_schema_matches(project):
    project.manage("db", "upgrade")
    project.database.execute("UPDATE alembic_version SET version_num = '0123456789ab'")
    project.manage("db", "stamp", "head")
    assert project.database.revisions() == [project.head()]


@mariadb_only
def test_a_table_in_another_engine_is_a_difference_with_the_conversion(project):
    create_all(project.database)
    inspector = sa.inspect(project.database.engine)
    referenced = {key["referred_table"] for name in inspector.get_table_names()
                  for key in inspector.get_foreign_keys(name)}
    # MyISAM has no foreign keys: a table that neither has nor is the target of one.
    table = next(name for name in sorted(inspector.get_table_names())
                 if name not in referenced and not inspector.get_foreign_keys(name))
    project.database.execute(f"ALTER TABLE {table} ENGINE=MyISAM")
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:-1] == [
        f"  table {table}:",
        f"    - engine MyISAM, the revision has InnoDB: convert it: ALTER TABLE {table} "
        "ENGINE=InnoDB",
    ]
    project.database.execute(f"ALTER TABLE {table} ENGINE=InnoDB")
    project.manage("db", "adopt")
    assert project.database.revisions() == [project.head()]


@mariadb_only  # SQLite's lock is a transaction: a run's new tables are not seen before it ends
def test_tables_a_running_upgrade_is_creating_do_not_send_the_next_run_to_adopt(project):
    """The check waits for the migration lock: a run that holds it may be creating the tables
    (MySQL commits each CREATE TABLE), and a second run must wait, not call that 'no
    history'."""
    engine = sa.create_engine(project.database.url)
    try:
        with engine.connect() as holder, migration_lock(holder, timeout=5):
            db.metadata.create_all(holder)  # the first run, half-way through its revision
            waiting = project.manage("db", "upgrade", check=False,
                                     env={"MIGRATION_LOCK_TIMEOUT": "1"})
    finally:
        engine.dispose()
    assert waiting.returncode == 1
    assert one_error_line(waiting).startswith(
        "Error: gave up after 1 s waiting for the migration lock on database")
    assert "db adopt" not in waiting.stderr


def _write_revision(project, rev_id, down, body):
    down_text = repr(down)
    (project.root / "migrations" / "versions" / f"29990101_{rev_id}_branch.py").write_text(
        f'"""branch drill {rev_id}"""\nfrom alembic import op\nimport sqlalchemy as sa\n\n'
        f"revision = {rev_id!r}\ndown_revision = {down_text}\nbranch_labels = None\n"
        f"depends_on = None\n\n\ndef upgrade():\n    {body}\n\n\ndef downgrade():\n    pass\n")


def _drop_every_table(database):
    metadata = sa.MetaData()
    metadata.reflect(database.engine)
    with database.engine.begin() as conn:
        metadata.drop_all(conn)


def test_each_revision_of_a_branched_history_is_adopted_exactly(project):
    base = project.head()
    table = ("op.create_table({!r}, sa.Column('id', sa.Integer(), primary_key=True), "
             "mysql_engine='InnoDB', mysql_charset='utf8mb4', mysql_collate='utf8mb4_unicode_ci')")
    _write_revision(project, "b1b1b1b1b1b1", base, table.format("branch_one"))
    _write_revision(project, "b2b2b2b2b2b2", base, table.format("branch_two"))
    _write_revision(project, "b3b3b3b3b3b3", ("b1b1b1b1b1b1", "b2b2b2b2b2b2"), "pass")
    for revision in ("b1b1b1b1b1b1", "b2b2b2b2b2b2", "b3b3b3b3b3b3"):
        _drop_every_table(project.database)
        project.manage("db", "upgrade", revision)
        project.database.execute("DROP TABLE alembic_version")
        project.manage("db", "adopt")
        assert project.database.revisions() == [revision]


def test_migrate_on_a_create_all_database_names_db_adopt(project):
    create_all(project.database)
    before = project.versions()
    result = project.manage("db", "migrate", "-m", "anything", check=False)
    assert result.returncode == 1
    assert one_error_line(result) == f"Error: {NO_HISTORY}"
    assert project.versions() == before


def missing_trigger(name):
    """What db adopt lists for a database without the question table's trigger *name*."""
    return ["  table question:",
            f"    - trigger {name} is missing: the revision's migration creates it: create it "
            "as that migration does, then adopt again"]


def test_a_database_missing_a_trigger_matches_no_revision(project):
    """Stamped without the trigger that numbers the questions, a database would take new
    questions that no page shows: a missing trigger is a difference like a missing column."""
    create_all(project.database)
    project.database.execute("DROP TRIGGER question_number")
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:-1] == missing_trigger("question_number")
    assert "alembic_version" not in project.database.tables()


@mariadb_only  # the recent tier of the search index is Mroonga's (SQLite has none)
def test_the_recent_tier_of_search_is_compared_too(project):
    create_all(project.database)
    assert {"search_mroonga", "search_recent"} <= project.database.tables()
    # Without the trigger that fills the tier, new questions would be missing from page 1.
    project.database.execute("DROP TRIGGER search_recent_insert")
    result = project.manage("db", "adopt", check=False)
    assert result.returncode == 1
    assert result.stdout.splitlines()[1:-1] == missing_trigger("search_recent_insert")
    # Without any of the tier: the revision before it, which db upgrade then adds.
    for statement in db_objects.SEARCH_RECENT_DROP:
        project.database.execute(statement)
    project.manage("db", "adopt")
    assert project.database.revisions() == ["9cd113545291"]
    project.manage("db", "upgrade")
    assert project.database.revisions() == [project.head()]
    assert "search_recent" in project.database.tables()
