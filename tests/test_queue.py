"""Mail leaves the request: RabbitMQ, real worker processes and real SMTP servers on loopback."""
import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time

import flask_migrate
import pytest

from app import create_app
from exts import db
from setting import ConfigError, from_environment
from tests.cli import ROOT
from tests.site import PASSWORD, IsolatedClient, Site
from tests.http import free_port
from tests.queue_support import (READY, RABBITMQ_URL, SMTPStandIn, app_env, delete_queue,
                                 queue_depth, rabbitmq_available, serving_smtp, unique_queue,
                                 wait_for_line, WorkerProcess)

ERROR_LINE = ("Error: CELERY_BROKER_URL is not set, so the web process sends mail itself and "
              "there is no queue to work on")


@pytest.fixture(scope="session")
def rabbitmq():
    if not rabbitmq_available():
        message = f"RabbitMQ does not answer at {RABBITMQ_URL} (tests/services.sh starts it)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return RABBITMQ_URL


@pytest.fixture
def queue(rabbitmq):
    """A queue of this test's own on the shared broker, deleted afterwards."""
    name = unique_queue()
    yield name
    delete_queue(name)


@pytest.fixture
def smtp():
    stand_in = SMTPStandIn()
    yield stand_in
    stand_in.close()


@pytest.fixture
def web(database):
    """start(**settings): the app on a fresh migrated database, and a visitor of it."""
    stack = contextlib.ExitStack()

    def start(**settings):
        app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": database.url, **settings})
        stack.enter_context(app.app_context())
        flask_migrate.upgrade()
        app.test_client_class = IsolatedClient
        return app, Site(app.test_client(), mailbox=None)

    with stack:
        yield start
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def workers(tmp_path, queue):
    """start(name, **settings): a ready ``manage.py worker``; every one is stopped at the end."""
    started = []

    def start(name, concurrency=1, **settings):
        worker = WorkerProcess(tmp_path, name, worker_env(queue, **settings), concurrency)
        started.append(worker)
        return worker.wait_ready()

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def worker_env(queue, **settings):
    return app_env(FLASK_CONFIG="development", CELERY_BROKER_URL=RABBITMQ_URL,
                   MAIL_QUEUE=queue, MAIL_SERVER="127.0.0.1", **settings)


def queued(queue, smtp, **settings):
    """The web app's settings for a broker and the SMTP stand-in."""
    return {"CELERY_BROKER_URL": RABBITMQ_URL, "MAIL_QUEUE": queue,
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, **settings}


def codes_in_database(database):
    return [(row["email"], row["captcha"]) for row in database.rows("email_captcha")]


def test_registration_mail_goes_web_rabbitmq_worker_smtp(web, workers, queue, database):
    smtp = serving_smtp()
    try:
        worker = workers("w", MAIL_PORT=smtp.port)
        app, site = web(**queued(queue, smtp))
        response = site.send_code("ann@example.com", headers={"X-Request-ID": "reg-flow-1"})
        assert (response.status_code, response.json["code"]) == (200, 200)
        assert response.headers["X-Request-ID"] == "reg-flow-1"

        [mail] = smtp.inbox.wait_for(1)
        assert mail["To"] == "ann@example.com"
        code = smtp.inbox.code_for("ann@example.com")
        assert codes_in_database(database) == [("ann@example.com", code)]
        assert site.register("ann@example.com", code=code).status_code == 302
        assert site.login("ann@example.com", PASSWORD).status_code == 302
        # The job's log line carries the id of the request that queued it.
        worker.wait_for_line(r"^INFO  \[mailqueue\.tasks\] \[request reg-flow-1\] "
                             r"Mailed the code to ann@example\.com \(attempt 1\)$")
        assert site.client.get("/healthz").json["broker"] == {
            "status": "ok", "queue": queue, "waiting": 0, "workers": 1}
    finally:
        smtp.close()


def test_broker_down_answers_503_at_once_and_counts_no_code(web, database):
    dead_broker = f"amqp://guest:guest@127.0.0.1:{free_port()}//"
    app, site = web(CELERY_BROKER_URL=dead_broker, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    for _ in range(2):  # the second is not 429: the 60-second wait never started
        started = time.perf_counter()
        response = site.send_code("ann@example.com")
        elapsed = time.perf_counter() - started
        assert response.status_code == 503
        assert response.json == {"code": 503, "message": "The email could not be sent. "
                                                         "Please try again later."}
        assert elapsed < 1, f"{elapsed:.2f} s"
        assert codes_in_database(database) == []
    health = site.client.get("/healthz")
    assert health.status_code == 200
    assert health.json["broker"] == {"status": "unavailable",
                                     "error": "[Errno 111] Connection refused"}


def test_smtp_that_hangs_never_holds_the_request_and_the_worker_retries(web, workers, queue,
                                                                       smtp, database):
    worker = workers("w", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1, MAIL_RETRY_DELAY=1)
    app, site = web(**queued(queue, smtp))
    started = time.perf_counter()
    response = site.send_code("ann@example.com")
    elapsed = time.perf_counter() - started
    assert response.status_code == 200
    assert elapsed < 1, f"{elapsed:.2f} s"

    smtp.wait_for_connections(2)  # the first attempt timed out, the second one came
    worker.wait_for_line(r"^WARNI \[mailqueue\.tasks\] \[request \w+\] Could not mail the code "
                         r"to ann@example\.com \(attempt 1\): Connection unexpectedly closed: "
                         r"timed out; trying again in "
                         r"\d\.\d s$")
    smtp.serve()
    [mail] = smtp.inbox.wait_for(1)
    assert codes_in_database(database) == [("ann@example.com", smtp.inbox.code_for(mail["To"]))]
    found = worker.wait_for_line(r"Mailed the code to ann@example\.com \(attempt (\d+)\)$")
    assert int(found.group(1)) >= 2


@pytest.mark.parametrize("victim", ["whole worker", "pool process"])
def test_a_worker_killed_while_smtp_hangs_leaves_the_mail_to_another(web, workers, queue, smtp,
                                                                     database, victim):
    # SMTP calls that would hang for a minute: the job is surely mid-send when killed.
    first = workers("first", MAIL_PORT=smtp.port, MAIL_TIMEOUT=60)
    app, site = web(**queued(queue, smtp))
    assert site.send_code("ann@example.com").status_code == 200
    smtp.wait_for_connections(1)
    smtp.serve()
    if victim == "whole worker":
        second = workers("second", MAIL_PORT=smtp.port, MAIL_TIMEOUT=60)
        first.kill()  # SIGKILL, pool included: its connection to RabbitMQ drops
        taker = second
    else:
        [pool_process] = first.pool_processes()
        os.kill(pool_process, signal.SIGKILL)  # the worker lives on and puts the job back
        taker = first
    [mail] = smtp.inbox.wait_for(1)
    taker.wait_for_line(r"Mailed the code to ann@example\.com \(attempt 1\)$")
    taker.stop()
    if victim == "whole worker":
        assert "Mailed the code" not in first.log()
    else:
        assert "WorkerLostError" in first.log()
    assert [m["To"] for m in smtp.inbox.messages] == ["ann@example.com"]
    assert codes_in_database(database) == [("ann@example.com", smtp.inbox.code_for(mail["To"]))]
    assert queue_depth(queue) == (0, 0)


def test_two_workers_100_codes_100_mails_none_twice(web, workers, queue, database):
    smtp = serving_smtp()
    try:
        pair = [workers(name, MAIL_PORT=smtp.port) for name in ("one", "two")]
        app, site = web(**queued(queue, smtp))
        addresses = [f"user{i}@example.com" for i in range(100)]
        for address in addresses:
            assert site.send_code(address).status_code == 200
        smtp.inbox.wait_for(100)
        for worker in pair:
            worker.stop()  # after a warm shutdown nothing is in flight any more
        assert sorted(smtp.inbox.recipients()) == sorted(addresses)
        assert sorted(codes_in_database(database)) == sorted(
            (address, smtp.inbox.code_for(address)) for address in addresses)
        shares = [worker.log().count("Mailed the code") for worker in pair]
        assert sum(shares) == 100 and min(shares) > 0, shares
        assert queue_depth(queue) == (0, 0)
    finally:
        smtp.close()


def test_the_worker_gives_up_before_a_code_expires_and_never_mails_it(web, workers, queue, smtp,
                                                                      database):
    worker = workers("w", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1, MAIL_RETRY_DELAY=1)
    app, site = web(**queued(queue, smtp), CAPTCHA_TTL_SECONDS=4)
    assert site.send_code("ann@example.com").status_code == 200
    found = worker.wait_for_line(r"^ERROR \[mailqueue\.tasks\] \[request \w+\] Gave up mailing "
                                 r"the code to ann@example\.com after (\d+) attempts: it expires "
                                 r"before another could finish\. Last error: Connection "
                                 r"unexpectedly closed: timed out$")
    attempts = int(found.group(1))
    worker.wait_for_line(r"Task mailqueue\.send_code\[[\w-]+\] succeeded")  # acknowledged
    smtp.serve()
    worker.stop()
    assert smtp.accepted == attempts >= 2
    assert smtp.inbox.messages == []
    assert queue_depth(queue) == (0, 0)


def test_a_job_that_waits_in_the_queue_past_the_code_expiry_is_dropped(web, queue, smtp):
    app, site = web(**queued(queue, smtp), CAPTCHA_TTL_SECONDS=1)
    assert site.send_code("ann@example.com").status_code == 200
    deadline = time.monotonic() + 30
    # RabbitMQ drops the message when its TTL (the code's expiry) passes; it has no event
    # to wait on, so poll the queue, bounded.
    while queue_depth(queue)[0] != 0:
        assert time.monotonic() < deadline, "the expired job is still queued"
        time.sleep(0.1)


def test_without_a_broker_smtp_that_hangs_costs_the_request_one_timeout(web, smtp, database):
    app, site = web(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=2)
    started = time.perf_counter()
    response = site.send_code("ann@example.com")
    elapsed = time.perf_counter() - started
    assert response.status_code == 503
    # One timeout, not a second one for a QUIT to a server that never answered.
    assert 2 <= elapsed < 4, f"{elapsed:.2f} s"
    assert codes_in_database(database) == []


@pytest.mark.parametrize("command", [
    [sys.executable, "manage.py", "worker"],
    [sys.executable, "-m", "celery", "-A", "mailqueue", "worker"],
    [str(ROOT / "deploy" / "entrypoint.sh"), "worker"],
])
def test_the_worker_refuses_to_start_without_a_broker(command, database):
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=60,
                            env=app_env(FLASK_CONFIG="development", DATABASE_URL=database.url,
                                        PYTHON=sys.executable))
    assert (result.returncode, result.stderr.strip(), result.stdout) == (1, ERROR_LINE, "")


def test_the_image_runs_the_worker_and_its_healthcheck_pings_it(queue, tmp_path):
    """deploy/entrypoint.sh worker, as `docker run IMAGE worker`, with Celery's default name."""
    env = worker_env(queue, MAIL_PORT=free_port(), PYTHON=sys.executable)

    def healthcheck():
        return subprocess.run([sys.executable, "deploy/healthcheck.py", "worker"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=60)

    idle = healthcheck()
    assert idle.returncode == 1
    assert idle.stderr.strip().splitlines()[-1] == (
        f"unhealthy: celery@{socket.gethostname()} did not answer a ping within 3 s")
    log_path = tmp_path / "worker.log"
    with open(log_path, "w") as log:
        worker = subprocess.Popen([str(ROOT / "deploy" / "entrypoint.sh"), "worker", "-c", "1"],
                                  cwd="/", env=env, stdout=log, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        wait_for_line(log_path, READY, worker)
        healthy = healthcheck()
        assert healthy.returncode == 0, healthy.stderr
        assert f"{{'celery@{socket.gethostname()}': {{'ok': 'pong'}}}}" in healthy.stdout
        os.killpg(worker.pid, signal.SIGTERM)  # docker stop: the worker is the entrypoint (exec)
        assert worker.wait(60) == 0
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(30)


def test_production_without_a_broker_says_so_once_at_start(caplog):
    caplog.set_level(logging.WARNING)
    create_app("production", {"SECRET_KEY": "k" * 64, "CONFIGURE_LOGGING": False})
    assert [r.getMessage() for r in caplog.records] == [
        "CELERY_BROKER_URL is not set: registration mail is sent by the web process itself, "
        "within the request. Set CELERY_BROKER_URL to a RabbitMQ URL and run 'python manage.py "
        "worker' to send it from a queue."]
    caplog.clear()
    create_app("development", {"CONFIGURE_LOGGING": False})
    assert caplog.records == []


def test_healthz_says_nothing_of_a_broker_when_there_is_none(client):
    assert "broker" not in client.get("/healthz").json


@pytest.mark.parametrize("url, message", [
    ("redis://:hunter22@localhost:6379/0", "not a redis:// URL"),
    ("hunter22", "not something without a scheme"),
])
def test_a_broker_url_that_is_not_rabbitmq_is_refused_without_echoing_it(url, message):
    with pytest.raises(ConfigError) as error:
        from_environment({"CELERY_BROKER_URL": url})
    assert str(error.value) == ("CELERY_BROKER_URL must be a RabbitMQ URL "
                                f"(amqp://user:password@host:5672/vhost), {message}")
    assert "hunter22" not in str(error.value)


def test_the_job_carries_no_more_than_it_needs(web, queue, smtp):
    """What sits in RabbitMQ: the address, the code and its expiry, and the request id."""
    from kombu import Connection

    app, site = web(**queued(queue, smtp))
    assert site.send_code("ann@example.com", headers={"X-Request-ID": "peek-1"}).status_code == 200
    with Connection(RABBITMQ_URL) as connection, connection.SimpleQueue(queue) as simple:
        message = simple.get(timeout=5)
        message.requeue()
    args, kwargs, _ = json.loads(message.body)
    assert args == [] and sorted(kwargs) == ["code", "email", "expires_at"]
    assert kwargs["email"] == "ann@example.com"
    assert message.headers["request_id"] == "peek-1"
    assert message.headers["kwargsrepr"] == "{'email': 'ann@example.com', 'code': '******'}"
    assert message.properties["delivery_mode"] == 2  # persistent
