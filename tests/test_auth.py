"""Register with a mailed code, log in and out: the happy paths and every refusal."""
import re
from datetime import timedelta

import pytest

from exts import db
from models import EmailCaptchaModel, RateLimitSlotModel, UserModel, utcnow
from tests.data import another_worker, backdate
from tests.http import free_port
from tests.mail import SlowMailbox, start_smtp_server
from tests.site import PASSWORD, IsolatedClient, Site, text

UNSENT = {"code": 503, "message": "The email could not be sent. Please try again later."}


def backdate_codes(address, seconds):
    """Move *address*'s codes, and every use of the code-mail limits, into the past."""
    backdate(EmailCaptchaModel.query.filter_by(email=address), seconds)
    backdate_slots("code-", seconds)


def backdate_slots(prefix, seconds):
    for row in RateLimitSlotModel.query.filter(RateLimitSlotModel.bucket.startswith(prefix)):
        row.taken_at -= timedelta(seconds=seconds)
    db.session.commit()


def login_slots():
    return RateLimitSlotModel.query.filter(RateLimitSlotModel.bucket.startswith("login:"))


# --- the code mailed for registration -------------------------------------------------------

def test_send_code_mails_six_digits_from_a_real_smtp_server(site, mailbox, app):
    response = site.send_code("ann@example.com")
    assert response.status_code == 200
    assert response.json == {"code": 200, "message": "We sent an email to ann@example.com. "
                                                     "Codes are valid for 10 minutes."}
    (message,) = mailbox.messages
    assert message["To"] == "ann@example.com"
    assert message["Subject"] == "Your Q&A registration code"
    code = mailbox.last_code("ann@example.com")
    assert re.fullmatch(r"\d{6}", code)
    (row,) = EmailCaptchaModel.query.all()
    assert (row.email, row.captcha, row.used, row.attempts) == ("ann@example.com", code, False, 0)


def test_codes_are_not_predictable(site, mailbox, app):
    codes = []
    for i in range(8):
        assert site.send_code(f"user{i}@example.com").status_code == 200
        codes.append(mailbox.last_code(f"user{i}@example.com"))
    # Eight codes drawn from a million by `secrets` are all different, but for odds of 1 in
    # 35,000; a generator seeded with the clock would repeat codes made in the same instant.
    assert len(set(codes)) == 8


def test_send_code_accepts_the_token_as_a_form_field(site, client, mailbox):
    response = client.post("/auth/captcha/email",
                           data={"email": "ann@example.com", "csrf_token": site.token()})
    assert response.status_code == 200
    assert mailbox.codes_for("ann@example.com")


@pytest.mark.parametrize("address, status, message", [
    ("", 400, "Enter your email address."),
    ("not-an-email", 400, "Enter a valid email address"),
    ("ann@", 400, "Enter a valid email address"),
    ("a" * 95 + "@example.com", 400, "at most 100 characters"),
    ("<script>@example.com", 400, "Enter a valid email address"),
])
def test_send_code_refuses_bad_email(site, mailbox, address, status, message):
    response = site.send_code(address)
    assert response.status_code == status
    assert response.json["code"] == status and message in response.json["message"]
    assert mailbox.messages == []


def test_send_code_answers_alike_for_a_registered_email_and_mails_its_owner(site, mailbox, app):
    site.signed_up("ann@example.com")
    backdate_slots("code-", 61)
    mailbox.messages.clear()
    registered = site.send_code("ANN@example.com ")
    unknown = site.send_code("bob@example.com")
    assert registered.status_code == unknown.status_code == 200
    assert registered.json["message"] == unknown.json["message"].replace("bob", "ann")
    # The owner learns it by mail, and gets no code.
    notice, code = mailbox.messages
    assert (notice["To"], notice["Subject"]) == ("ann@example.com", "Your Q&A account")
    assert "it has an account already: log in with it instead" in notice.get_content()
    assert not re.search(r"\b\d{6}\b", notice.get_content())
    assert code["To"] == "bob@example.com"
    assert [c.email for c in EmailCaptchaModel.query] == ["ann@example.com", "bob@example.com"]
    assert EmailCaptchaModel.query.filter_by(email="ann@example.com").one().used is True
    # The owner's address keeps the same limits as any other.
    again = site.send_code("ann@example.com")
    assert (again.status_code, again.json["message"][:21]) == (429, "A code was just sent.")


def test_send_code_once_a_minute_per_email(site, mailbox, app):
    assert site.send_code("ann@example.com").status_code == 200
    again = site.send_code("ann@example.com")
    assert again.status_code == 429
    assert again.json["message"].startswith("A code was just sent. Try again in")
    assert 55 <= again.json["retry_after"] <= 60
    assert again.headers["Retry-After"] == str(again.json["retry_after"])
    # Another address is not held up.
    assert site.send_code("bob@example.com").status_code == 200
    backdate_codes("ann@example.com", 61)
    assert site.send_code("ann@example.com").status_code == 200
    assert len(mailbox.codes_for("ann@example.com")) == 2


def test_send_code_without_csrf_token_is_a_json_400(client, mailbox):
    response = client.post("/auth/captcha/email", data={"email": "ann@example.com"})
    assert response.status_code == 400
    assert response.json == {"code": 400, "message": "The CSRF token is missing."}
    assert mailbox.messages == []


def test_send_code_with_a_wrong_csrf_token_is_a_json_400(site, client):
    site.token()
    response = client.post("/auth/captcha/email", data={"email": "ann@example.com"},
                           headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert response.json["message"] == "The CSRF token is invalid."


def test_send_code_by_get_is_refused(client):
    response = client.get("/auth/captcha/email?email=ann@example.com")
    assert response.status_code == 405
    assert response.json["code"] == 405


def test_unreachable_mail_server_is_a_503_and_the_wait_is_not_applied(site, app, smtp_server):
    app.extensions["mail"].port = free_port()  # nothing listens there
    response = site.send_code("ann@example.com")
    assert response.status_code == 503
    assert response.json["message"] == "The email could not be sent. Please try again later."
    assert EmailCaptchaModel.query.count() == 0
    app.extensions["mail"].port = smtp_server.port
    assert site.send_code("ann@example.com").status_code == 200


def test_an_smtp_server_too_slow_in_all_is_given_up_within_mail_timeout(make_app, smtp_server,
                                                                         mailbox):
    """MAIL_TIMEOUT bounds the whole exchange: a server that answers every command, each
    within the timeout but not all of them, is given up, and no code or wait is left."""
    slow = start_smtp_server(SlowMailbox(delay=1.2))
    try:
        app = make_app(MAIL_SERVER="127.0.0.1", MAIL_PORT=slow.port, MAIL_TIMEOUT=2)
        site = Site(IsolatedClient.of(app), mailbox)
        response = site.send_code("ann@example.com")
        assert (response.status_code, response.json) == (503, UNSENT)
        assert EmailCaptchaModel.query.count() == 0 and RateLimitSlotModel.query.count() == 0
        app.extensions["mail"].port = smtp_server.port
        assert site.send_code("ann@example.com").status_code == 200
        assert mailbox.recipients() == ["ann@example.com"]
    finally:
        slow.stop()


def test_a_mailbox_name_outside_ascii_is_refused_in_the_form(site, mailbox, app):
    response = site.send_code("ü@exämple.com")
    assert response.status_code == 400
    assert response.json["message"] == ("Use only ASCII letters, digits and . _ + - before the "
                                        "@: mail to other characters there cannot be delivered.")
    assert mailbox.messages == []
    assert EmailCaptchaModel.query.count() == 0 and RateLimitSlotModel.query.count() == 0
    page = text(site.register("ü@example.com", code="123456"))
    assert "Use only ASCII letters, digits and . _ + - before the @" in page


def test_an_internationalised_domain_is_mailed_in_its_idna_form_and_is_one_account(site, mailbox,
                                                                                   app):
    response = site.send_code("Ann@Exämple.com")
    assert response.status_code == 200
    assert response.json["message"].startswith("We sent an email to ann@exämple.com.")
    [message] = mailbox.messages
    assert message["To"] == "ann@xn--exmple-cua.com"
    code = mailbox.last_code("ann@xn--exmple-cua.com")
    assert [(c.email, c.captcha) for c in EmailCaptchaModel.query] == [("ann@exämple.com", code)]
    assert site.register("ann@xn--exmple-cua.com", code=code).status_code == 302
    assert UserModel.query.one().email == "ann@exämple.com"
    assert site.login("ANN@EXÄMPLE.COM").status_code == 302


def send_from(site, address, client_ip):
    return site.client.post("/auth/captcha/email", data={"email": address},
                            headers={"X-CSRFToken": site.token()},
                            environ_base={"REMOTE_ADDR": client_ip})


def test_plus_tags_and_case_reach_one_mailbox_and_share_its_wait(site, mailbox, app):
    assert send_from(site, "victim@example.com", "10.0.0.1").status_code == 200
    for address, ip in [("victim+1@example.com", "10.0.0.1"), ("Victim+2@EXAMPLE.com", "10.0.0.2"),
                        ("VICTIM@example.com", "10.0.0.3")]:
        response = send_from(site, address, ip)
        assert response.status_code == 429
        assert response.json["message"].startswith("A code was just sent. Try again in")
    assert mailbox.recipients() == ["victim@example.com"]
    # Over the hour the mailbox gets CODE_MAILS_PER_MAILBOX, from anywhere.
    for n in range(4):
        backdate_codes("victim@example.com", 61)
        assert send_from(site, f"victim+{n}@example.com", f"10.0.1.{n}").status_code == 200
    backdate_codes("victim@example.com", 61)
    response = send_from(site, "victim+9@example.com", "10.0.2.1")
    assert (response.status_code, response.json["message"]) == (
        429, "Too many codes were sent to this address. Try again in 55 minutes.")
    assert len(mailbox.messages) == 5


def test_one_client_gets_a_few_code_mails_an_hour(make_app, mailbox):
    site = Site(IsolatedClient.of(make_app(CODE_MAILS_PER_CLIENT=(3, 3600))), mailbox)
    for n in range(3):
        assert send_from(site, f"user{n}@example.com", "203.0.113.7").status_code == 200
    refused = send_from(site, "user3@example.com", "203.0.113.7")
    assert refused.status_code == 429 and 3590 <= int(refused.headers["Retry-After"]) <= 3600
    assert refused.json["message"] == ("Too many codes were asked for from your network. Try "
                                       "again in 60 minutes.")
    # Its address was not held up by the refusal; another client is not held up at all.
    assert send_from(site, "user3@example.com", "203.0.113.8").status_code == 200
    # An IPv6 client holds a /64: its addresses count as one client.
    for n in range(3):
        assert send_from(site, f"six{n}@example.com", f"2001:db8:1:2::{n + 1}").status_code == 200
    assert send_from(site, "six3@example.com", "2001:db8:1:2:ffff::9").status_code == 429
    assert send_from(site, "six3@example.com", "2001:db8:1:3::1").status_code == 200
    assert len(mailbox.messages) == 8


def test_the_site_sends_at_most_its_share_of_code_mails(make_app, mailbox):
    site = Site(IsolatedClient.of(make_app(CODE_MAILS_PER_SITE=(4, 3600))), mailbox)
    for n in range(4):
        assert send_from(site, f"user{n}@example.com", f"198.51.100.{n}").status_code == 200
    refused = send_from(site, "user4@example.com", "198.51.100.9")
    assert (refused.status_code, refused.json["message"]) == (
        429, "Too many codes are being sent right now. Try again in 60 minutes.")
    assert len(mailbox.messages) == 4


# --- registering --------------------------------------------------------------------------

def test_register_page_has_every_field_and_the_send_code_button(client):
    page = text(client.get("/auth/register"))
    for name in ("email", "captcha", "username", "password", "password_confirm", "csrf_token"):
        assert f'name="{name}"' in page
    assert 'id="send-code"' in page and 'data-url="/auth/captcha/email"' in page
    assert "/static/js/register.js" in page


def test_register_with_the_mailed_code(site, client, app):
    response = site.register("ann@example.com", username="安 Ann 🚀")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?email=ann@example.com"
    user = UserModel.query.one()
    assert (user.email, user.username) == ("ann@example.com", "安 Ann 🚀")
    assert user.password_hash.startswith("scrypt:") and PASSWORD not in user.password_hash
    assert EmailCaptchaModel.query.one().used is True
    page = text(client.get(response.headers["Location"]))
    assert "Your account is ready" in page
    assert 'value="ann@example.com"' in page


def test_register_normalizes_the_email(site, mailbox, app):
    assert site.send_code(" Ann@Example.COM").status_code == 200
    code = mailbox.last_code("ann@example.com")
    assert site.register("Ann@Example.COM", code=code).status_code == 302
    assert UserModel.query.one().email == "ann@example.com"


BAD_REGISTRATIONS = [
    ({"email": None}, "email", "Enter your email address."),
    ({"email": "not-an-email"}, "email", "Enter a valid email address"),
    ({"captcha": None}, "captcha", "Enter the 6-digit code we emailed you."),
    ({"captcha": "12345"}, "captcha", "The code is 6 digits."),
    ({"captcha": "abcdef"}, "captcha", "The code is 6 digits."),
    ({"username": None}, "username", "Choose a username."),
    ({"username": "x"}, "username", "A username has 2 to 100 characters."),
    ({"username": "x" * 101}, "username", "A username has 2 to 100 characters."),
    ({"password": None, "password_confirm": None}, "password", "Choose a password."),
    ({"password": "short7!", "password_confirm": "short7!"}, "password",
     "A password has 8 to 128 characters."),
    ({"password": "p" * 129, "password_confirm": "p" * 129}, "password",
     "A password has 8 to 128 characters."),
    ({"password_confirm": "another password"}, "password_confirm",
     "The two passwords do not match."),
    ({"password_confirm": None}, "password_confirm", "Type the password again."),
]


@pytest.mark.parametrize("fields, field, message", BAD_REGISTRATIONS,
                         ids=[f"{f}:{m[:20]}" for _, f, m in BAD_REGISTRATIONS])
def test_register_shows_each_bad_field(site, mailbox, app, fields, field, message):
    site.send_code("ann@example.com")
    code = mailbox.last_code("ann@example.com")
    response = site.register("ann@example.com", code=code, **fields)
    assert response.status_code == 400
    page = text(response)
    assert message in page
    # The message sits under its own field, which is marked invalid.
    assert re.search(rf'name="{field}"[^>]*>', page) and "is-invalid" in page
    assert UserModel.query.count() == 0
    # A refused form leaves the code usable.
    assert EmailCaptchaModel.query.one().used is False


def test_wrong_code_counts_tries_and_five_wrong_tries_burn_the_code(site, mailbox, app):
    site.send_code("ann@example.com")
    code = mailbox.last_code("ann@example.com")
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    messages = [text(site.register(code=wrong)) for _ in range(5)]
    assert "Wrong code: 4 tries left." in messages[0]
    assert "Wrong code: 1 try left." in messages[3]
    assert "Wrong code, and that was the last try: ask for a new one." in messages[4]
    # Even the right code is refused now.
    response = site.register(code=code)
    assert response.status_code == 400
    assert "Too many wrong codes: ask for a new one." in text(response)
    assert EmailCaptchaModel.query.one().attempts == 5
    assert UserModel.query.count() == 0


def test_expired_code_is_refused(site, mailbox, app):
    site.send_code("ann@example.com")
    code = mailbox.last_code("ann@example.com")
    backdate_codes("ann@example.com", 10 * 60 + 1)
    response = site.register(code=code)
    assert response.status_code == 400
    assert "This code has expired: ask for a new one." in text(response)


def test_code_nine_minutes_old_still_works(site, mailbox, app):
    site.send_code("ann@example.com")
    code = mailbox.last_code("ann@example.com")
    backdate_codes("ann@example.com", 9 * 60)
    assert site.register(code=code).status_code == 302


def test_reused_code_is_refused(site, mailbox, app):
    assert site.register("ann@example.com").status_code == 302
    code = mailbox.last_code("ann@example.com")
    # Same email again: the code is spent (the account is not mentioned to whoever asks).
    response = site.register("ann@example.com", code=code, username="ann2")
    assert "This code has already been used: ask for a new one." in text(response)
    # Even with the account gone, the used code does not open a second one.
    UserModel.query.delete()
    db.session.commit()
    response = site.register("ann@example.com", code=code, username="mallory")
    assert response.status_code == 400
    assert "This code has already been used: ask for a new one." in text(response)
    assert UserModel.query.count() == 0


def test_only_the_newest_code_counts(site, mailbox, app):
    site.send_code("ann@example.com")
    backdate_codes("ann@example.com", 61)
    site.send_code("ann@example.com")
    newest = mailbox.last_code("ann@example.com")
    # The older code, made different from the newest (two random codes may be equal).
    older = EmailCaptchaModel.query.order_by(EmailCaptchaModel.create_time).first()
    older.captcha = f"{(int(newest) + 1) % 10**6:06d}"
    db.session.commit()
    response = site.register(code=older.captcha)
    assert response.status_code == 400
    assert "Wrong code: 4 tries left." in text(response)
    assert site.register(code=newest).status_code == 302


def test_code_for_another_email_is_refused(site, mailbox, app):
    site.send_code("ann@example.com")
    response = site.register("bob@example.com", code=mailbox.last_code("ann@example.com"))
    assert "No code was sent to this email" in text(response)


def test_registering_a_registered_email_says_nothing_about_the_account(site, app):
    site.signed_up("ann@example.com")
    site.logout()
    response = site.register("ann@example.com", code="123456", username="someone")
    assert response.status_code == 400
    page = text(response)
    # What a stranger trying an address learns is about the code, as for any address.
    assert "already registered" not in page
    assert "This code has already been used: ask for a new one." in page
    assert UserModel.query.count() == 1
    unknown = site.register("bob@example.com", code="123456")
    assert "No code was sent to this email" in text(unknown)


@pytest.mark.parametrize("path, data", [
    ("/auth/register", {"email": "ann@example.com", "captcha": "123456", "username": "ann",
                        "password": PASSWORD, "password_confirm": PASSWORD}),
    ("/auth/login", {"email": "ann@example.com", "password": PASSWORD}),
    ("/auth/logout", {}),
])
def test_post_without_csrf_token_is_a_styled_400(client, path, data):
    response = client.post(path, data=data)
    assert response.status_code == 400
    page = text(response)
    assert "The CSRF token is missing." in page and "Bad Request" in page
    assert "/static/vendor/bootstrap-5.3.8/css/bootstrap.min.css" in page


# --- logging in and out --------------------------------------------------------------------

def test_login_logout_round_trip(site, client, app):
    user_id = site.signed_up("ann@example.com", username="小明")
    assert db.session.get(UserModel, user_id).username == "小明"
    page = text(client.get("/"))
    assert "Welcome back, 小明!" in page
    assert 'action="/auth/logout"' in page and "Log out" in page
    response = site.logout()
    assert response.status_code == 302 and response.headers["Location"] == "/"
    page = text(client.get("/"))
    assert "You are logged out." in page and "Log out" not in page
    with client.session_transaction() as session:
        assert "user_id" not in session


def test_logout_by_get_is_not_allowed(site, client):
    site.signed_up()
    response = client.get("/auth/logout")
    assert response.status_code == 405
    assert "Method Not Allowed" in text(response)
    with client.session_transaction() as session:
        assert "user_id" in session


def test_login_is_case_insensitive_for_the_email(site, app):
    site.signed_up("ann@example.com")
    site.logout()
    assert site.login("  ANN@example.com").status_code == 302


@pytest.mark.parametrize("address, password, status, message", [
    ("ann@example.com", "wrong password", 400, "Wrong email or password."),
    ("nobody@example.com", PASSWORD, 400, "Wrong email or password."),
    ("", PASSWORD, 400, "Enter your email address."),
    ("not-an-email", PASSWORD, 400, "Enter a valid email address"),
    ("ann@example.com", "", 400, "Enter your password."),
])
def test_login_refusals(site, app, address, password, status, message):
    site.signed_up("ann@example.com")
    site.logout()
    response = site.login(address, password)
    assert response.status_code == status
    assert message in text(response)
    with site.client.session_transaction() as session:
        assert "user_id" not in session


def test_five_failed_logins_lock_the_email_for_ten_minutes(site, client, app):
    site.signed_up("ann@example.com")
    site.logout()
    statuses = [site.login(password="wrong password").status_code for _ in range(5)]
    assert statuses == [400, 400, 400, 400, 429]
    # Now even the right password is refused, with a clear message.
    response = site.login()
    assert response.status_code == 429
    assert "Too many failed logins for this email. Try again in 10 minutes." in text(response)
    assert login_slots().count() == 5
    # Other accounts are not locked.
    assert site.login("bob@example.com", "whatever pw").status_code == 400

    # The failures are rows in the database: another worker (a second app) sees them.
    with another_worker(app) as other:
        assert Site(other.test_client(), None).login().status_code == 429

    # Ten minutes later the lock is gone.
    backdate_slots("login:", 10 * 60 + 1)
    assert site.login().status_code == 302


def test_successful_login_clears_earlier_failures(site, app):
    site.signed_up()
    site.logout()
    for _ in range(3):
        site.login(password="wrong password")
    assert site.login().status_code == 302
    assert login_slots().count() == 0


def test_slots_a_day_old_are_pruned_for_every_bucket(site, app):
    db.session.add_all([RateLimitSlotModel(bucket=f"login:{address}", slot=0,
                                           taken_at=utcnow() - timedelta(days=1, minutes=1))
                        for address in ("ann@example.com", "bob@example.com", "cy@example.com")])
    db.session.add(RateLimitSlotModel(bucket="login:dan@example.com", slot=0,
                                      taken_at=utcnow() - timedelta(hours=23)))
    db.session.commit()
    site.login(password="wrong password")
    assert sorted(r.bucket for r in login_slots()) == [
        "login:ann@example.com", "login:dan@example.com"]


def test_codes_a_day_old_are_pruned_when_a_code_is_sent(site, mailbox, app):
    db.session.add(EmailCaptchaModel(email="old@example.com", captcha="123456",
                                     create_time=utcnow() - timedelta(days=1, minutes=1)))
    db.session.add(EmailCaptchaModel(email="recent@example.com", captcha="654321",
                                     create_time=utcnow() - timedelta(hours=23)))
    db.session.commit()
    assert site.send_code("ann@example.com").status_code == 200
    assert sorted(c.email for c in EmailCaptchaModel.query) == ["ann@example.com",
                                                                "recent@example.com"]


def test_login_required_pages_send_to_login_and_back(site, client):
    response = client.get("/qa/public")
    assert response.status_code == 302
    assert response.headers["Location"] == "/auth/login?next=/qa/public"
    assert "Please log in first." in text(client.get(response.headers["Location"]))
    site.signed_up()
    site.logout()
    response = site.login(next="/qa/public")
    assert response.headers["Location"] == "/qa/public"


@pytest.mark.parametrize("target", [
    "https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)",
    "http:/evil.example",
])
def test_login_never_redirects_off_site(site, target):
    site.signed_up()
    site.logout()
    response = site.login(next=target)
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_session_cookie_is_httponly_and_samesite_lax(site, client):
    site.signed_up()
    cookie = client.get_cookie("session")
    assert cookie.http_only and cookie.same_site == "Lax"
    assert not cookie.secure  # testing runs over http; production sets Secure (test_security)
