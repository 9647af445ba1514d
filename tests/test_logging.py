"""Logging: request ids, one line per request, plain or JSON lines, and no secret in any line."""
import json
import logging
import re
import sys
import time
import uuid

import pytest
from aiosmtpd.smtp import AuthResult
from sqlalchemy.engine import make_url

import logging_config
from setting import ConfigError, from_environment
from tests.cli import ROOT, process_environ
from tests.http import Visitor, free_port
from tests.mail import start_smtp_server
from tests.processes import Background
from tests.queue_support import (RABBITMQ_URL, READY, delete_queue, logged, start_worker,
                                 unique_queue)
from tests.site import PASSWORD

JSON_KEYS = {"timestamp", "level", "logger", "message", "request_id"}
TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00")


def request_records(caplog):
    return [r for r in caplog.records if r.name == "qa.request"]


def test_each_request_gets_an_id_and_one_line_with_method_path_status_duration(client, caplog):
    caplog.set_level(logging.INFO, logger="qa.request")
    started = time.perf_counter()
    response = client.get("/search?q=what+a+user+typed")
    call_ms = (time.perf_counter() - started) * 1000
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    [record] = request_records(caplog)
    assert (record.request_id, record.method, record.path, record.status) == (
        request_id, "GET", "/search", 200)
    assert record.getMessage() == f"GET /search 200 {record.duration_ms:.1f} ms"
    # The request's own time, measured inside the call that made it: not a speed limit.
    assert 0 < record.duration_ms <= call_ms
    # A new id for the next request.
    assert client.get("/").headers["X-Request-ID"] != request_id


@pytest.mark.parametrize("incoming, kept", [
    ("3f2a9c1e-0b7d-4e8a-9c6f-1d2e3f4a5b6c", True),
    ("a" * 128, True),
    ("nginx:req.42_x", True),
    ("a" * 129, False),
    ("two words", False),
    ("forged] INFO [qa.request", False),
    ("", False),
])
def test_an_x_request_id_from_the_proxy_is_kept_only_if_it_looks_like_an_id(client, caplog,
                                                                           incoming, kept):
    caplog.set_level(logging.INFO, logger="qa.request")
    response = client.get("/", headers={"X-Request-ID": incoming})
    returned = response.headers["X-Request-ID"]
    if kept:
        assert returned == incoming
    else:
        assert re.fullmatch(r"[0-9a-f]{32}", returned)
    assert [r.request_id for r in request_records(caplog)] == [returned]


def test_error_responses_are_logged_and_carry_the_id_too(client, caplog):
    caplog.set_level(logging.INFO, logger="qa.request")
    response = client.post("/auth/captcha/email", data={"email": "ann@example.com"},
                           headers={"X-Request-ID": "no-csrf-1"})
    assert response.status_code == 400
    assert response.headers["X-Request-ID"] == "no-csrf-1"
    assert [(r.method, r.path, r.status) for r in request_records(caplog)] == [
        ("POST", "/auth/captcha/email", 400)]


def make_record(message="GET / 200 1.5 ms", args=(), level=logging.INFO, **extra):
    """A record made as a logger makes it (through the record factory), with *extra*."""
    record = logging.getLogRecordFactory()("qa.request", level, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_records_carry_the_ids_whichever_handler_gets_them():
    logging_config.stamp_records()  # as create_app does; a second call changes nothing
    factory = logging.getLogRecordFactory()
    logging_config.stamp_records()
    assert logging.getLogRecordFactory() is factory
    assert (make_record().request_id, make_record().task_id) == (None, None)
    with logging_config.job_context("req-7", "task-9"):
        assert (make_record().request_id, make_record().task_id) == ("req-7", "task-9")


def test_a_json_line_has_the_fields_and_nothing_a_library_attached():
    record = make_record(method="GET", path="/", status=200, duration_ms=1.5,
                         data={"args": "('123456',)"}, hostname="celery@x")
    line = json.loads(logging_config.JsonLineFormatter().format(record))
    assert TIMESTAMP.fullmatch(line.pop("timestamp"))
    assert line == {"level": "INFO", "logger": "qa.request", "message": "GET / 200 1.5 ms",
                    "request_id": None, "method": "GET", "path": "/", "status": 200,
                    "duration_ms": 1.5}


def test_a_json_line_carries_the_request_and_job_it_was_logged_in():
    with logging_config.job_context("req-7", "task-9"):
        record = make_record("Mailed the code to %s", ("ann@example.com",))
    line = json.loads(logging_config.JsonLineFormatter().format(record))
    assert (line["request_id"], line["task_id"], line["message"]) == (
        "req-7", "task-9", "Mailed the code to ann@example.com")
    assert logging_config.current_request_id.get() is None


def test_a_plain_line_is_alembics_format_with_the_request_when_there_is_one():
    formatter = logging_config.PlainFormatter()
    assert formatter.format(make_record(level=logging.WARNING)) == (
        "WARNI [qa.request] GET / 200 1.5 ms")
    assert formatter.format(make_record(request_id="abc")) == (
        "INFO  [qa.request] [request abc] GET / 200 1.5 ms")


def test_known_secrets_are_hidden_in_messages_and_tracebacks():
    secret_filter = logging_config.RedactSecrets(["hunter22-db", "s3cret-key-value", "short"])
    try:
        raise ValueError("could not log in with hunter22-db")
    except ValueError:
        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "key %s, word %s",
                                   ("s3cret-key-value", "short"), sys.exc_info())
    secret_filter.filter(record)
    for formatter in (logging_config.PlainFormatter(), logging_config.JsonLineFormatter()):
        text = formatter.format(record)
        assert "hunter22-db" not in text and "s3cret-key-value" not in text
        assert "[redacted]" in text
    assert record.getMessage() == "key [redacted], word short"  # 5 characters: not searched
    assert record.exc_text.endswith("ValueError: could not log in with [redacted]")


def test_the_secrets_are_the_keys_and_the_passwords_in_the_urls():
    assert logging_config.secrets_in({
        "SECRET_KEY": "k" * 40, "MAIL_PASSWORD": "smtp-pass",
        "SQLALCHEMY_DATABASE_URI": "mysql+pymysql://qa:db-pass@db/qa",
        "CELERY_BROKER_URL": "amqp://qa:mq-pass@mq:5672/qa",
    }) == ["k" * 40, "smtp-pass", "db-pass", "mq-pass"]
    assert logging_config.secrets_in({"SQLALCHEMY_DATABASE_URI": "sqlite:///x.db"}) == []


@pytest.mark.parametrize("env, message", [
    ({"LOG_FORMAT": "xml"}, "LOG_FORMAT must be plain or json, not 'xml'"),
    ({"LOG_LEVEL": "loud"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, not 'loud'"),
])
def test_bad_log_settings_are_config_errors(env, message):
    with pytest.raises(ConfigError) as error:
        from_environment(env)
    assert str(error.value) == message


def test_the_cli_writes_alembics_lines_in_development_and_json_in_production(project):
    development = project.manage("db", "upgrade")
    lines = development.stderr.splitlines()
    assert [line for line in lines if "Running upgrade" in line] == [
        line for line in lines if line.startswith("INFO  [alembic.runtime.migration] Running "
                                                  "upgrade ")]
    assert len([line for line in lines if "Running upgrade" in line]) == len(project.versions())

    production = project.manage("db", "downgrade", "base",
                                env={"FLASK_CONFIG": "production", "SECRET_KEY": "k" * 64})
    lines = [json.loads(line) for line in production.stderr.splitlines()]
    downgrades = [line for line in lines if line["message"].startswith("Running downgrade")]
    assert len(downgrades) == len(project.versions())
    for line in lines:
        assert JSON_KEYS <= set(line) and line["request_id"] is None
        assert TIMESTAMP.fullmatch(line["timestamp"])

    plain = project.manage("db", "current", env={"FLASK_CONFIG": "production",
                                                 "SECRET_KEY": "k" * 64, "LOG_FORMAT": "plain"})
    assert "INFO  [alembic.runtime.migration] Context impl" in plain.stderr


@pytest.fixture
def database_password(database):
    """A MariaDB account with a password for the app (root has none), dropped afterwards;
    None on SQLite, which has no password."""
    if database.backend != "mariadb":
        yield database.url, None
        return
    user, password = f"u{uuid.uuid4().hex[:12]}", f"db-pw-{uuid.uuid4().hex}"
    database.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'")
    try:
        database.execute(f"GRANT ALL ON `{database.name}`.* TO '{user}'@'%'")
        url = make_url(database.url).set(username=user, password=password)
        yield url.render_as_string(hide_password=False), password
    finally:
        database.execute(f"DROP USER '{user}'@'%'")


@pytest.mark.rabbitmq
def test_a_whole_registration_flow_logs_json_with_ids_and_no_secret(database_password):
    """gunicorn (deploy/entrypoint.sh) and a worker in production, through RabbitMQ to SMTP."""
    database_url, db_password = database_password
    secret_key, mail_password = f"key-{uuid.uuid4().hex}", f"smtp-pw-{uuid.uuid4().hex}"
    wrong_password = "not-my-password-42"

    def authenticate(server, session, envelope, mechanism, auth_data):
        return AuthResult(success=auth_data.password == mail_password.encode())

    smtp, queue, port = start_smtp_server(authenticator=authenticate), unique_queue(), free_port()
    mailbox = smtp.handler
    settings = dict(FLASK_CONFIG="production", SECRET_KEY=secret_key, DATABASE_URL=database_url,
                    CELERY_BROKER_URL=RABBITMQ_URL, MAIL_QUEUE=queue, MAIL_SERVER="127.0.0.1",
                    MAIL_PORT=smtp.port, MAIL_USERNAME="robot", MAIL_PASSWORD=mail_password)
    web = Background([str(ROOT / "deploy" / "entrypoint.sh")], cwd="/",
                     env=process_environ(PORT=port, WEB_CONCURRENCY=1, PYTHON=sys.executable,
                                         **settings), stop_group=False)
    worker = start_worker("flow", process_environ(**settings))
    try:
        assert web.answer(f"http://127.0.0.1:{port}/healthz", seconds=120)[0] == 200
        logged(worker, READY)
        browser = Visitor(port)
        status, headers, body = browser.exchange(
            "POST", "/auth/captcha/email", {"email": "ann@example.com"},
            {"X-CSRFToken": browser.token("/auth/register"), "X-Request-ID": "flow-code-1"})
        assert (status, headers["X-Request-ID"]) == (200, "flow-code-1"), body
        mailbox.wait_for(1)
        [code] = mailbox.codes_for("ann@example.com")
        wrong_code = f"{(int(code) + 1) % 10**6:06d}"
        form = {"email": "ann@example.com", "username": "ann", "password": PASSWORD,
                "password_confirm": PASSWORD}
        status, _, _ = browser.exchange("POST", "/auth/register", {
            **form, "captcha": wrong_code, "csrf_token": browser.token("/auth/register")})
        assert status == 400
        status, _, _ = browser.exchange("POST", "/auth/register", {
            **form, "captcha": code, "csrf_token": browser.token("/auth/register")})
        assert status == 302
        for password, expected in ((wrong_password, 400), (PASSWORD, 302)):
            status, _, _ = browser.exchange("POST", "/auth/login", {
                "email": "ann@example.com", "password": password,
                "csrf_token": browser.token("/auth/login")})
            assert status == expected
        logged(worker, r'"message": "Mailed the code to ann@example\.com \(attempt 1\)"')
    finally:
        web.stop()  # SIGTERM to the entrypoint's process, which is gunicorn (exec), as docker stop
        worker.stop()
        smtp.stop()
        delete_queue(queue)

    logs = {"web": web.output, "worker": worker.stderr}
    lines = {name: [json.loads(line) for line in text.splitlines()] for name, text in logs.items()}
    for name, parsed in lines.items():
        for line in parsed:
            assert JSON_KEYS <= set(line), (name, line)
    # Celery prints one plain line itself, on stdout, when it stops; no banner (--quiet).
    assert worker.output == "\nworker: Warm shutdown (MainProcess)\n"
    # The request that asked for the code, and the mail job it queued, share its id.
    [code_request] = [line for line in lines["web"] if line["request_id"] == "flow-code-1"]
    assert (code_request["method"], code_request["path"], code_request["status"]) == (
        "POST", "/auth/captcha/email", 200)
    assert [line["message"] for line in lines["worker"] if line["request_id"] == "flow-code-1"] == [
        "Mailed the code to ann@example.com (attempt 1)"]
    assert sum(1 for line in lines["web"] if line["logger"] == "qa.request") >= 9
    secrets = {"password": PASSWORD, "wrong password": wrong_password, "SECRET_KEY": secret_key,
               "MAIL_PASSWORD": mail_password, "database password": db_password}
    for name, text in logs.items():
        for what, secret in secrets.items():
            assert secret is None or secret not in text, f"{what} in the {name} log"
        for code_value in (code, wrong_code):
            assert not re.search(rf"\b{code_value}\b", text), f"a code in the {name} log"
