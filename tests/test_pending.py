"""Pending migrations: the warning of runserver and WSGI servers, and GET /healthz."""
import json
import sys
import threading

import pytest

from app import create_app
from exts import db
from migration_safety.status import script_heads
from tests.backends import database_unused
from tests.http import free_port

BEHIND = "The database is behind the code"


def test_healthz_at_head_answers_200_with_the_revision(app, client, project):
    head = project.head()
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "at-head", "revision": head}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_on_a_database_never_migrated_answers_503(database, project):
    client = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "behind", "revision": None,
                                   "head": project.head(), "pending": len(project.versions())}


def test_a_wsgi_app_behind_by_one_revision_warns_and_answers_503(project):
    project.manage("db", "upgrade")
    base = project.head()
    project.add_revision("f1f1f1f1f1f1", "pending drill", "op.create_table('drill_p', "
                         "sa.Column('id', sa.Integer(), primary_key=True))",
                         "op.drop_table('drill_p')")
    with project.wsgi_app() as (app, log):
        response = app.test_client().get("/healthz")
    assert (response.status_code, response.get_json()) == (503, {
        "head": "f1f1f1f1f1f1", "pending": 1, "revision": base, "status": "behind"})
    assert (f"{BEHIND}: it is at revision {base} and 1 migration is pending (head "
            "f1f1f1f1f1f1); pages that need the new schema will fail until you run "
            "'python manage.py db upgrade'") in log.getvalue()


def test_healthz_on_a_revision_the_code_does_not_know(app, client, database):
    database.execute("UPDATE alembic_version SET version_num = '0123456789ab'")
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unknown-revision"
    assert response.get_json()["revision"] == "0123456789ab"


@pytest.mark.parametrize("url", [
    "mysql+pymysql://app:hunter22@127.0.0.1:9/qa?charset=utf8mb4",
    "sqlite:////nonexistent-folder/sub/app.db",
], ids=["mysql-down", "sqlite-unopenable"])
def test_healthz_when_the_database_does_not_answer(url, caplog):
    client = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url}).test_client()
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["status"] == "unavailable"
    assert "hunter22" not in response.get_data(as_text=True)
    assert "Could not read the database's migration revision" in caplog.text


def test_the_app_warns_once_at_the_first_request(database, caplog):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    client = app.test_client()
    client.get("/healthz")
    client.get("/healthz")
    warnings = [r for r in caplog.records if BEHIND in r.getMessage()]
    assert len(warnings) == 1 and warnings[0].levelname == "WARNING"
    assert "not migrated at all (no revision)" in warnings[0].getMessage()


def test_no_warning_at_head(app, client, caplog):
    assert client.get("/").status_code == 200
    assert BEHIND not in caplog.text and "Could not read" not in caplog.text


def test_gunicorn_logs_the_warning_of_a_database_behind(project):
    port = free_port()
    with project.background("-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app",
                            env={"PORT": str(port), "WEB_CONCURRENCY": "1"}) as server:
        status, body = server.answer(f"http://127.0.0.1:{port}/healthz")
        assert status == 503 and json.loads(body)["status"] == "behind"
        assert server.answer(f"http://127.0.0.1:{port}/healthz")[0] == 503
    assert server.output.count(BEHIND) == 1, server.output
    assert "Traceback" not in server.output


def test_the_check_does_not_change_the_database(database):
    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url})
    app.test_client().get("/healthz")
    with app.app_context():
        db.engine.dispose()
    assert database.tables() == set()


@database_unused
def test_threads_of_a_fresh_worker_all_read_the_heads(app):
    """gunicorn --threads: the first requests of a worker arrive together, and each must find
    the scripts and their heads (once, one was seen without the other: a 500 on /healthz)."""
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # switch threads as often as possible
    try:
        for _ in range(30):
            app.extensions.pop("migration_safety", None)
            start = threading.Barrier(8)
            found, failed = [], []

            def read():
                start.wait()
                try:
                    found.append(script_heads(app)[1])
                except Exception as exc:  # noqa: BLE001 - what the test is looking for
                    failed.append(repr(exc))

            threads = [threading.Thread(target=read) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert failed == [] and len(set(found)) == 1 and len(found) == 8
    finally:
        sys.setswitchinterval(switch)
