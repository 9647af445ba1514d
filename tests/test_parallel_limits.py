"""Every limit holds against parallel requests to a real multi-worker gunicorn server."""
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from tests.cli import ROOT, process_environ
from tests.http import Visitor, free_port
from tests.processes import Background
from tests.site import PASSWORD, csrf_token

WORKERS = 4


@pytest.fixture
def server(database, smtp_server):
    """gunicorn -c gunicorn.conf.py with 4 workers on the test's database (its port)."""
    database.at_head()
    port = free_port()
    env = process_environ(FLASK_CONFIG="testing", DATABASE_URL=database.url,
                          MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp_server.port,
                          WEB_CONCURRENCY=WORKERS, GUNICORN_BIND=f"127.0.0.1:{port}")
    with Background([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
                    cwd=ROOT, env=env) as gunicorn:
        status, body = gunicorn.answer(f"http://127.0.0.1:{port}/healthz", seconds=120)
        assert status == 200, body
        yield port
    assert "Traceback" not in gunicorn.output, gunicorn.output


def all_at_once(visitors, send):
    """send(visitor) for every visitor, from as many threads, released together; the answers."""
    start = threading.Barrier(len(visitors))

    def one(visitor):
        start.wait()
        return send(visitor)

    with ThreadPoolExecutor(len(visitors)) as pool:
        return list(pool.map(one, visitors))


def visitors_on(port, page, count):
    """*count* visitors who each opened *page*: (visitor, the page's CSRF token)."""
    found = []
    for _ in range(count):
        visitor = Visitor(port)
        status, html = visitor.request("GET", page)
        assert status == 200
        found.append((visitor, csrf_token(html)))
    return found


def test_parallel_requests_get_no_more_than_each_limit_allows(server, database, mailbox):
    # A password hash at full cost, as production's: each check takes a while, which is when
    # a read-then-write throttle lets other requests slip past.
    database.execute("INSERT INTO user (username, username_key, email, password_hash, "
                     "join_time) VALUES ('ann', 'ann', 'ann@example.com', :hash, "
                     "'2026-01-01 00:00:00')",
                     {"hash": generate_password_hash(PASSWORD, "scrypt")})

    # 40 wrong passwords at once, each from its own session: 5 are checked.
    logins = visitors_on(server, "/auth/login", 40)
    answers = all_at_once(logins, lambda v: v[0].request("POST", "/auth/login", {
        "email": "ann@example.com", "password": "wrong password", "csrf_token": v[1]}))
    checked = [status for status, page in answers if "Wrong email or password." in page]
    refused = [status for status, page in answers
               if "Too many failed logins for this email. Try again in 10 minutes." in page]
    assert (len(checked), len(refused)) == (5, 35), sorted(status for status, _ in answers)
    assert set(refused) == {429}
    visitor, token = logins[0]
    status, page = visitor.request("POST", "/auth/login", {
        "email": "ann@example.com", "password": PASSWORD, "csrf_token": token})
    assert status == 429 and "Too many failed logins for this email" in page

    # 20 "Send code" at once for one mailbox, spelled 20 ways: one mail.
    senders = visitors_on(server, "/auth/register", 20)
    answers = all_at_once(senders, lambda v: v[0].request(
        "POST", "/auth/captcha/email", {"email": f"Bob+{senders.index(v)}@example.com"},
        headers={"X-CSRFToken": v[1]}))
    assert sorted(status for status, _ in answers) == [200] + [429] * 19
    [mail] = mailbox.messages
    address = mail["To"]
    assert address.startswith("bob+")
    code = mailbox.last_code(address)

    # 20 wrong codes at once: 5 are compared, and the code is spent.
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    registrations = visitors_on(server, "/auth/register", 20)
    answers = all_at_once(registrations, lambda v: v[0].request("POST", "/auth/register", {
        "email": address, "captcha": wrong, "username": "bob", "password": PASSWORD,
        "password_confirm": PASSWORD, "csrf_token": v[1]}))
    compared = [page for _, page in answers if "Wrong code" in page]
    spent = [page for _, page in answers if "Too many wrong codes: ask for a new one." in page]
    assert (len(compared), len(spent)) == (5, 15)
    assert database.execute("SELECT attempts FROM email_captcha") == [(5,)]
    visitor, token = registrations[0]
    status, page = visitor.request("POST", "/auth/register", {
        "email": address, "captcha": code, "username": "bob", "password": PASSWORD,
        "password_confirm": PASSWORD, "csrf_token": token})
    assert status == 400 and "Too many wrong codes: ask for a new one." in page
    assert database.execute("SELECT email FROM user") == [("ann@example.com",)]
