"""The schema workflow a user follows, and a walk over the whole migration history with data."""
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from exts import db
from migration_safety.names import include_name
from tests.cli import ROOT
from tests.rows import SAMPLE_ROWS, fill_new_tables, kept, snapshot

def test_every_table_has_sample_rows():
    assert set(SAMPLE_ROWS) == set(db.metadata.tables)


def test_walk_the_history_up_down_and_up_again_with_rows(project):
    """Each step up keeps the rows already there; each step down keeps the rows of the tables
    that remain; going back up to head finds them all again."""
    script = ScriptDirectory(str(ROOT / "migrations"))
    revisions = [r.revision for r in reversed(list(script.walk_revisions()))]
    snapshots = {}
    for revision in revisions:
        before = snapshot(project)
        project.manage("db", "upgrade", revision)
        assert kept(before, snapshot(project)), f"upgrade to {revision} lost rows"
        fill_new_tables(project)
        snapshots[revision] = snapshot(project)
    assert all(snapshots[revisions[-1]].values()), "every table at head has rows"

    for revision, previous in zip(reversed(revisions), list(reversed(revisions))[1:] + ["base"]):
        # Stepping down drops tables that hold rows: the data gate wants that acknowledged.
        project.manage("db", "downgrade", previous, "--allow-data-loss")
        if previous != "base":
            assert snapshot(project) == snapshots[previous]
    assert snapshot(project) == {}

    for revision in revisions:
        project.manage("db", "upgrade", revision)
        fill_new_tables(project)
    assert snapshot(project) == snapshots[revisions[-1]]


def test_adding_a_column_keeps_rows_and_downgrade_restores(project):
    project.manage("db", "upgrade")
    fill_new_tables(project)
    before = snapshot(project)

    models = project.root / "models.py"
    source = models.read_text()
    marker = '    content = db.Column(db.Text, nullable=False)\n    create_time = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)\n    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False, index=True)\n\n    author = db.relationship(UserModel, backref=db.backref("questions"'
    assert marker in source
    models.write_text(source.replace(
        marker, "    views = db.Column(db.Integer, nullable=True)\n" + marker, 1))

    versions = set(project.versions())
    project.manage("db", "migrate", "-m", "add question views")
    (new_file,) = set(project.versions()) - versions
    assert new_file.endswith("_add_question_views.py")
    script = (project.root / "migrations" / "versions" / new_file).read_text()
    assert "batch_op.add_column(sa.Column('views', sa.Integer(), nullable=True))" in script

    project.manage("db", "upgrade")
    after = snapshot(project)
    assert kept(before, after)
    assert [row["views"] for row in after["question"]] == [None]

    project.manage("db", "downgrade")
    assert snapshot(project) == before


def test_models_and_migrations_are_in_sync(app):
    """Autogenerate against a database at head finds nothing to do (the search index's and
    migration safety's own tables left aside, as db migrate leaves them)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "include_name": include_name})
        assert compare_metadata(context, db.metadata) == []
