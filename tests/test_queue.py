"""Mail leaves the request: RabbitMQ, real worker processes and real SMTP servers on loopback."""
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from app import create_app
from setting import ConfigError, from_environment
from tests.backends import database_unused
from tests.cli import ROOT, process_environ
from tests.http import free_port
from tests.mail import HangingSMTPServer
from tests.processes import Background
from tests.queue_support import (RABBITMQ_URL, READY, completes, dead_broker, delete_queue,
                                 logged, queue_depth, start_worker, unique_queue)
from tests.site import PASSWORD, IsolatedClient, Site

ERROR_LINE = ("Error: CELERY_BROKER_URL is not set, so the web process sends mail itself and "
              "there is no queue to work on")
UNSENT = {"code": 503, "message": "The email could not be sent. Please try again later."}


@pytest.fixture
def queue(request):
    """A queue of this test's own on the shared broker, deleted afterwards."""
    assert request.node.get_closest_marker("rabbitmq"), "mark the test @pytest.mark.rabbitmq"
    name = unique_queue()
    yield name
    delete_queue(name)


@pytest.fixture
def smtp():
    """An SMTP server that hangs (never answers) until the test has it serve()."""
    server = HangingSMTPServer()
    yield server
    server.close()


@pytest.fixture
def web(make_app, mailbox):
    """web(**settings): a visitor of the app with *settings*, on the test's database at head."""
    return lambda **settings: Site(IsolatedClient.of(make_app(**settings)), mailbox)


def queue_env(queue, **settings):
    """The environment of a worker (or the image's entrypoint) on the test's queue."""
    return process_environ(FLASK_CONFIG="development", CELERY_BROKER_URL=RABBITMQ_URL,
                           MAIL_QUEUE=queue, MAIL_SERVER="127.0.0.1", **settings)


@pytest.fixture
def workers(queue):
    """start(name, **settings): a ``manage.py worker`` on the test's queue, once it logged that
    it is ready; every one gets a warm shutdown at the end."""
    started = []

    def start(name, concurrency=1, **settings):
        worker = start_worker(name, queue_env(queue, **settings), concurrency)
        started.append(worker)
        logged(worker, READY)
        return worker

    try:
        yield start
    finally:
        for worker in started:
            worker.stop()


def queued(queue, smtp_port, **settings):
    """The web app's settings for the broker, the test's queue and an SMTP server's port."""
    return {"CELERY_BROKER_URL": RABBITMQ_URL, "MAIL_QUEUE": queue,
            "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp_port, **settings}


def codes_in_database(database):
    return [(row["email"], row["captcha"]) for row in database.rows("email_captcha")]


def errors(caplog):
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]


@pytest.mark.rabbitmq
def test_registration_mail_goes_web_rabbitmq_worker_smtp(web, workers, queue, smtp_server,
                                                         mailbox, database):
    worker = workers("w", MAIL_PORT=smtp_server.port)
    site = web(**queued(queue, smtp_server.port))
    response = site.send_code("ann@example.com", headers={"X-Request-ID": "reg-flow-1"})
    assert (response.status_code, response.json["code"]) == (200, 200)
    assert response.headers["X-Request-ID"] == "reg-flow-1"

    [mail] = mailbox.wait_for(1)
    assert mail["To"] == "ann@example.com"
    [code] = mailbox.codes_for("ann@example.com")
    assert codes_in_database(database) == [("ann@example.com", code)]
    assert site.register("ann@example.com", code=code).status_code == 302
    assert site.login("ann@example.com", PASSWORD).status_code == 302
    # The job's log line carries the id of the request that queued it.
    logged(worker, r"^INFO  \[mailqueue\.tasks\] \[request reg-flow-1\] "
                   r"Mailed the code to ann@example\.com \(attempt 1\)$")
    assert site.client.get("/healthz").json["broker"] == {
        "status": "ok", "queue": queue, "waiting": 0, "workers": 1}


@pytest.mark.rabbitmq
def test_an_address_with_an_account_gets_its_notice_through_the_queue(web, workers, queue,
                                                                      smtp_server, mailbox,
                                                                      database):
    database.execute("INSERT INTO user (username, username_key, email, password_hash, "
                     "join_time) VALUES ('ann', 'ann', 'ann@example.com', 'scrypt:x', "
                     "'2026-01-01 00:00:00')")
    worker = workers("w", MAIL_PORT=smtp_server.port)
    site = web(**queued(queue, smtp_server.port))
    registered = site.send_code("ann@example.com")
    unknown = site.send_code("bob@example.com")
    assert (registered.status_code, unknown.status_code) == (200, 200)
    assert registered.json["message"] == unknown.json["message"].replace("bob", "ann")
    mailbox.wait_for(2)
    [notice] = [m for m in mailbox.messages if m["To"] == "ann@example.com"]
    assert notice["Subject"] == "Your Q&A account"
    logged(worker, r"Mailed the account notice to ann@example\.com \(attempt 1\)$")
    assert [email for email, _ in codes_in_database(database)] == ["bob@example.com"]


def test_broker_down_answers_503_and_counts_no_code(web, database, caplog):
    dead = f"amqp://guest:guest@127.0.0.1:{free_port()}//"  # nothing listens: refused
    site = web(CELERY_BROKER_URL=dead, MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    for _ in range(2):  # the second is not 429: the 60-second wait never started
        response = site.send_code("ann@example.com")
        assert (response.status_code, response.json) == (503, UNSENT)
        assert codes_in_database(database) == []
    assert errors(caplog) == [
        "could not send the code to ann@example.com: [Errno 111] Connection refused"] * 2
    health = site.client.get("/healthz")
    assert health.status_code == 200
    assert health.json["broker"] == {"status": "unavailable",
                                     "error": "[Errno 111] Connection refused"}


def test_a_dead_broker_costs_the_request_two_connection_attempts_and_no_more(web, database):
    """Connecting is tried once more at once (nothing was sent yet), and that is all: no retry
    loop keeps the request waiting for a broker that is down. The stand-in resets each
    connection, as a broker going down does, and counts them."""
    broker = dead_broker()
    try:
        site = web(CELERY_BROKER_URL=f"amqp://guest:guest@127.0.0.1:{broker.port}//",
                   MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
        for sent in (1, 2):
            response = completes(lambda: site.send_code("ann@example.com"))
            assert (response.status_code, response.json) == (503, UNSENT)
            assert broker.accepted == 2 * sent
        assert codes_in_database(database) == []
        health = completes(lambda: site.client.get("/healthz"))
        assert health.json["broker"] == {"status": "unavailable",
                                         "error": "[Errno 104] Connection reset by peer"}
        assert broker.accepted == 6
    finally:
        broker.close()


@pytest.mark.rabbitmq
def test_smtp_that_hangs_never_holds_the_request_and_the_worker_retries(web, workers, queue,
                                                                       smtp, database):
    worker = workers("w", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1, MAIL_RETRY_DELAY=1)
    site = web(**queued(queue, smtp.port))
    # The SMTP server answers nothing until serve(), below: a request that waited on it, or on
    # the worker's sending, would never complete.
    response = completes(lambda: site.send_code("ann@example.com"))
    assert response.status_code == 200

    smtp.wait_for_connections(2)  # the first attempt timed out, the second one came
    logged(worker, r"^WARNI \[mailqueue\.tasks\] \[request \w+\] Could not mail the code "
                   r"to ann@example\.com \(attempt 1\): Connection unexpectedly closed: "
                   r"timed out; trying again in \d\.\d s$")
    smtp.serve()
    [mail] = smtp.mailbox.wait_for(1)
    [code] = smtp.mailbox.codes_for("ann@example.com")
    assert codes_in_database(database) == [("ann@example.com", code)]
    attempt = int(logged(worker, r"Mailed the code to ann@example\.com \(attempt (\d+)\)$")[1])
    # Every attempt before it failed and said so; the first (at least) while the server hung.
    failed = re.findall(r"Could not mail the code to ann@example\.com \(attempt (\d+)\)",
                        worker.stderr)
    assert failed == [str(n) for n in range(1, attempt)]


@pytest.mark.rabbitmq
@pytest.mark.parametrize("victim", ["whole worker", "pool process"])
def test_a_worker_killed_while_smtp_hangs_leaves_the_mail_to_another(web, workers, queue, smtp,
                                                                     database, victim):
    # SMTP calls that would wait ten minutes (for a code valid an hour): the job is surely
    # mid-send when it is killed.
    first = workers("first", MAIL_PORT=smtp.port, MAIL_TIMEOUT=600)
    site = web(**queued(queue, smtp.port, CAPTCHA_TTL_SECONDS=3600))
    assert site.send_code("ann@example.com").status_code == 200
    smtp.wait_for_connections(1)
    smtp.serve()
    if victim == "whole worker":
        second = workers("second", MAIL_PORT=smtp.port, MAIL_TIMEOUT=60)
        first.kill()  # SIGKILL, pool included: its connection to RabbitMQ drops
        taker = second
    else:
        [pool_process] = first.children()
        os.kill(pool_process, signal.SIGKILL)  # the worker lives on and puts the job back
        taker = first
    [mail] = smtp.mailbox.wait_for(1)
    logged(taker, r"Mailed the code to ann@example\.com \(attempt 1\)$")
    taker.stop()
    if victim == "whole worker":
        assert "Mailed the code" not in first.stderr
    else:
        assert "WorkerLostError" in first.stderr
    assert smtp.mailbox.recipients() == ["ann@example.com"]
    [code] = smtp.mailbox.codes_for("ann@example.com")
    assert codes_in_database(database) == [("ann@example.com", code)]
    assert queue_depth(queue) == (0, 0)


@pytest.mark.rabbitmq
def test_two_workers_100_codes_100_mails_none_twice(web, workers, queue, smtp_server, mailbox,
                                                   database):
    pair = [workers(name, MAIL_PORT=smtp_server.port) for name in ("one", "two")]
    # One client asking for 100 codes: above the per-client limit of a real site.
    site = web(**queued(queue, smtp_server.port, CODE_MAILS_PER_CLIENT=(100, 3600)))
    addresses = [f"user{i}@example.com" for i in range(100)]
    for address in addresses:
        assert site.send_code(address).status_code == 200
    mailbox.wait_for(100)
    for worker in pair:
        worker.stop()  # after a warm shutdown nothing is in flight any more
    assert sorted(mailbox.recipients()) == sorted(addresses)  # one mail each
    assert sorted(codes_in_database(database)) == sorted(
        (address, mailbox.last_code(address)) for address in addresses)
    shares = [worker.stderr.count("Mailed the code") for worker in pair]
    assert sum(shares) == 100 and min(shares) > 0, shares
    assert queue_depth(queue) == (0, 0)


@pytest.mark.rabbitmq
def test_the_worker_gives_up_before_a_code_expires_and_never_mails_it(web, workers, queue, smtp,
                                                                      database):
    worker = workers("w", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1, MAIL_RETRY_DELAY=1)
    site = web(**queued(queue, smtp.port, CAPTCHA_TTL_SECONDS=4))
    assert site.send_code("ann@example.com").status_code == 200
    found = logged(worker, r"^ERROR \[mailqueue\.tasks\] \[request \w+\] Gave up mailing "
                           r"the code to ann@example\.com after (\d+) attempts: it expires "
                           r"before another could finish\. Last error: Connection "
                           r"unexpectedly closed: timed out$")
    attempts = int(found[1])
    logged(worker, r"Task mailqueue\.send_code\[[\w-]+\] succeeded")  # acknowledged
    smtp.wait_for_connections(attempts)
    smtp.serve()
    worker.stop()
    assert smtp.accepted == attempts >= 2
    assert smtp.mailbox.messages == []
    assert queue_depth(queue) == (0, 0)


@pytest.mark.rabbitmq
def test_a_job_that_waits_in_the_queue_past_the_code_expiry_is_dropped(web, queue, smtp_server):
    site = web(**queued(queue, smtp_server.port, CAPTCHA_TTL_SECONDS=1))
    assert site.send_code("ann@example.com").status_code == 200
    deadline = time.monotonic() + 30
    # RabbitMQ drops the message when its TTL (the code's expiry) passes; it has no event
    # to wait on, so poll the queue, bounded (a guard against a hung test).
    while queue_depth(queue)[0] != 0:
        assert time.monotonic() < deadline, "the expired job is still queued"
        time.sleep(0.1)


def test_without_a_broker_smtp_that_hangs_costs_the_request_one_timeout(web, smtp, database,
                                                                        caplog):
    site = web(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port, MAIL_TIMEOUT=1)
    # The server never answers: the request ends by its SMTP timeout, or never.
    response = completes(lambda: site.send_code("ann@example.com"))
    assert (response.status_code, response.json) == (503, UNSENT)
    assert errors(caplog) == ["could not send the code to ann@example.com: "
                              "Connection unexpectedly closed: timed out"]
    # One timeout, not a second one for a QUIT to a server that never answered: its one
    # connection was closed without a word, and none came after it.
    smtp.wait_for_hangups(1)
    assert smtp.received() == [b""]
    assert codes_in_database(database) == []


@database_unused  # each command stops before it reaches a database
@pytest.mark.parametrize("command", [
    [sys.executable, "manage.py", "worker"],
    [sys.executable, "-m", "celery", "-A", "mailqueue", "worker"],
    ["deploy/entrypoint.sh", "worker"],
], ids=["manage.py", "celery", "entrypoint"])
def test_the_worker_refuses_to_start_without_a_broker(project, command):
    result = subprocess.run(command, cwd=project.root, env=project.env(PYTHON=sys.executable),
                            capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stderr.strip(), result.stdout) == (1, ERROR_LINE, "")


@pytest.mark.rabbitmq
def test_the_image_runs_the_worker_and_its_healthcheck_pings_it(queue):
    """deploy/entrypoint.sh worker, as `docker run IMAGE worker`, with Celery's default name."""
    env = queue_env(queue, MAIL_PORT=free_port(), PYTHON=sys.executable)

    def healthcheck():
        return subprocess.run([sys.executable, "deploy/healthcheck.py", "worker"], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=120)

    idle = healthcheck()
    assert idle.returncode == 1
    assert idle.stderr.strip().splitlines()[-1] == (
        f"unhealthy: celery@{socket.gethostname()} did not answer a ping within 3 s")
    # docker stop signals the entrypoint's process alone: the worker, if it was exec'd.
    with Background([str(ROOT / "deploy" / "entrypoint.sh"), "worker", "-c", "1"], cwd="/",
                    env=env, stop_group=False) as worker:
        assert worker.wait_for_match(READY, 120), worker.output
        healthy = healthcheck()
        assert healthy.returncode == 0, healthy.stderr
        assert f"{{'celery@{socket.gethostname()}': {{'ok': 'pong'}}}}" in healthy.stdout
        assert worker.stop() == 0, worker.output


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


@pytest.mark.rabbitmq
def test_the_job_carries_no_more_than_it_needs(web, queue, smtp_server):
    """What sits in RabbitMQ: the address, the code and its expiry, and the request id."""
    from kombu import Connection

    site = web(**queued(queue, smtp_server.port))
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
