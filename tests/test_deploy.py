"""Deploy: the entrypoint upgrades and serves through gunicorn; its settings, image and CI."""
import contextlib
import fnmatch
import json
import multiprocessing
import os
import re
import shutil
import subprocess
import sys

import pytest
import yaml

from tests.backends import database_unused
from tests.cli import ROOT, clean_environ, process_environ
from tests.http import free_port
from tests.processes import Background

SECRET = "k" * 64


def image_files(root):
    """What `COPY . .` puts in the image: the checkout minus what .dockerignore leaves out."""
    patterns = [line.strip() for line in (root / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]

    def ignored(relative):
        parts = relative.split("/")
        for pattern in patterns:
            bare = pattern[3:] if pattern.startswith("**/") else None
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if fnmatch.fnmatchcase(prefix, pattern):
                    return True
                if bare and fnmatch.fnmatchcase(parts[depth - 1], bare):
                    return True
        return False

    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).as_posix()
        if path.is_file() and not ignored(relative):
            yield relative


@pytest.fixture
def image(tmp_path):
    """A folder holding exactly the image's /app."""
    target = tmp_path / "qa-image"
    for relative in image_files(ROOT):
        (target / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / relative, target / relative)
    return target


def deploy_env(database, **extra):
    # What the Dockerfile sets, plus what a deploy passes in (--env-file).
    return process_environ(**{"FLASK_CONFIG": "production", "SECRET_KEY": SECRET,
                              "DATABASE_URL": database.url, "PYTHON": sys.executable, **extra})


def start_entrypoint(image, env):
    # SIGTERM to gunicorn alone, as Docker sends it: the entrypoint exec's gunicorn.
    return Background([str(image / "deploy" / "entrypoint.sh")], cwd="/", env=env)


def test_the_image_holds_what_the_app_needs_and_no_secrets_or_tests():
    files = set(image_files(ROOT))
    for needed in ("manage.py", "app.py", "gunicorn.conf.py", "deploy/entrypoint.sh",
                   "deploy/healthcheck.py", "requirements.txt", "migrations/env.py",
                   "migration_safety/__init__.py"):
        assert needed in files
    assert not any(f.startswith((".venv/", ".git/", "tests/", "instance/")) or f.endswith(
        (".db", ".pyc")) or f == ".env" for f in files)


def test_two_containers_start_at_once_upgrade_once_and_serve(image, database):
    """Two entrypoints, as two containers of one deploy, on a fresh database."""
    ports = [free_port(), free_port()]
    with contextlib.ExitStack() as stack:
        servers = [stack.enter_context(start_entrypoint(
            image, deploy_env(database, PORT=str(port), WEB_CONCURRENCY="1"))) for port in ports]
        for port, server in zip(ports, servers):
            status, body = server.answer(f"http://127.0.0.1:{port}/healthz", seconds=90)
            assert status == 200, body
            head = json.loads(body)["revision"]
            status, page = server.answer(f"http://127.0.0.1:{port}/")
            assert status == 200 and "<html" in page
            # Docker's HEALTHCHECK, run inside the container.
            check = subprocess.run([sys.executable, "deploy/healthcheck.py"], cwd=image,
                                   env=deploy_env(database, PORT=str(port)),
                                   capture_output=True, text=True, timeout=30)
            assert check.returncode == 0 and head in check.stdout
    outputs = [server.output for server in servers]
    assert [server.returncode for server in servers] == [0, 0], outputs
    assert database.execute("SELECT version_num FROM alembic_version") == [(head,)]
    revisions = len(list((image / "migrations" / "versions").glob("*.py")))
    assert sum(out.count("Running upgrade") for out in outputs) == revisions
    for output in outputs:
        assert "Listening at: http://0.0.0.0:" in output and "Booting worker" in output
        assert "Traceback" not in output and "Shutting down: Master" in output


@database_unused
def test_a_database_that_does_not_answer_stops_the_container_before_gunicorn(image, database):
    env = deploy_env(database, DATABASE_URL="mysql+pymysql://app:hunter22@127.0.0.1:9/qa",
                     PORT=str(free_port()))
    result = subprocess.run([str(image / "deploy" / "entrypoint.sh")], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and "Can't connect to MySQL server" in errors[0]
    assert "Traceback" not in result.stderr and "hunter22" not in result.stderr
    assert "Starting gunicorn" not in result.stdout + result.stderr


@database_unused
@pytest.mark.parametrize("env, message", [
    ({"WEB_CONCURRENCY": "many"}, "Error: WEB_CONCURRENCY must be a whole number above 0, not 'many'"),
    ({"WEB_CONCURRENCY": "0"}, "Error: WEB_CONCURRENCY must be a whole number above 0, not '0'"),
    ({"PORT": "http"}, "Error: PORT must be a whole number above 0, not 'http'"),
    ({"SECRET_KEY": ""}, "Error: SECRET_KEY is not set: production refuses to start"),
])
def test_bad_settings_stop_the_container_before_the_database_is_touched(image, database, env,
                                                                         message):
    result = subprocess.run([str(image / "deploy" / "entrypoint.sh")],
                            env=deploy_env(database, **env), capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1
    assert result.stderr.strip().startswith(message)
    assert result.stderr.strip().count("\n") == 0
    assert database.tables() == set()


@database_unused
def test_a_command_given_to_the_image_runs_instead_of_the_server(image, database):
    result = subprocess.run([str(image / "deploy" / "entrypoint.sh"), sys.executable,
                             "manage.py", "db", "heads"], env=deploy_env(database),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert re.search(r"^[0-9a-f]{12} \(head\)$", result.stdout, re.M)
    assert database.tables() == set()


def gunicorn_settings(env):
    script = ("import json, runpy; c = runpy.run_path('gunicorn.conf.py'); "
              "print(json.dumps({k: c[k] for k in ('bind', 'workers', 'threads', 'timeout', "
              "'control_socket_disable')}))")
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=clean_environ(**env),
                            capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout, result.stderr


def test_gunicorn_defaults():
    code, out, _ = gunicorn_settings({})
    assert code == 0
    assert json.loads(out) == {"bind": "0.0.0.0:8000",
                               "workers": min(2 * multiprocessing.cpu_count() + 1, 8),
                               "threads": 1, "timeout": 30, "control_socket_disable": True}


def test_gunicorn_bind_and_workers_from_the_environment():
    _, out, _ = gunicorn_settings({"PORT": "9000", "WEB_CONCURRENCY": "3",
                                   "GUNICORN_THREADS": "4"})
    assert json.loads(out)["bind"] == "0.0.0.0:9000"
    assert (json.loads(out)["workers"], json.loads(out)["threads"]) == (3, 4)
    _, out, _ = gunicorn_settings({"GUNICORN_BIND": "unix:/run/qa.sock"})
    assert json.loads(out)["bind"] == "unix:/run/qa.sock"


def test_dockerfile_runs_the_entrypoint_as_a_user_that_is_not_root():
    instructions = [line.split(None, 1) for line in
                    (ROOT / "Dockerfile").read_text().replace("\\\n", " ").splitlines()
                    if line.strip() and not line.lstrip().startswith("#")]
    keys = [key.upper() for key, _ in instructions]
    values = dict((key.upper(), value) for key, value in instructions)
    assert values["FROM"] == "python:3.11-slim"
    user = [value for key, value in instructions if key.upper() == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert keys.index("USER") < keys.index("ENTRYPOINT")
    assert json.loads(values["ENTRYPOINT"]) == ["deploy/entrypoint.sh"]
    assert os.access(ROOT / "deploy" / "entrypoint.sh", os.X_OK)
    runs = [value for key, value in instructions if key.upper() == "RUN"]
    assert "pip install -r requirements.txt" in runs


def test_ci_workflow_tests_on_mariadb_and_migrates_before_replacing_the_server():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    test, deploy = workflow["jobs"]["test"], workflow["jobs"]["deploy"]
    service = test["services"]["mariadb"]
    assert service["image"].startswith("mariadb:10.11") and "3306:3306" in service["ports"]
    assert service["env"]["MARIADB_ALLOW_EMPTY_ROOT_PASSWORD"] == "yes"
    assert any(step.get("run") == "make test" for step in test["steps"])
    assert deploy["needs"] == "test"
    script = next(step["with"]["script"] for step in deploy["steps"]
                  if "script" in step.get("with", {}))
    commands = [line.strip() for line in script.splitlines()]
    upgrade = next(i for i, c in enumerate(commands) if "python manage.py db upgrade" in c)
    stop = next(i for i, c in enumerate(commands) if c.startswith("docker stop"))
    assert upgrade < stop, "the migration runs before the old container stops"
    assert commands[0] == "set -eu"


@database_unused
def test_plain_gunicorn_without_a_secret_key_exits_1_with_one_line(image, database):
    """Started directly (no entrypoint): one Error: line and exit 1, not workers booting and
    dying in a loop with the port open."""
    env = deploy_env(database, SECRET_KEY="", GUNICORN_BIND=f"127.0.0.1:{free_port()}",
                     WEB_CONCURRENCY="2")
    try:
        result = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                                 "app:app"], cwd=image, env=env, capture_output=True, text=True,
                                timeout=60)
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"gunicorn still running after 60 s: {exc.stderr}") from None
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == ("Error: SECRET_KEY is not set: production refuses to start without "
                             "it (make one with: python -c 'import secrets; "
                             "print(secrets.token_hex(32))')\n")
