"""Register with a mailed code, log in and out: the happy paths and every refusal."""
import re
from datetime import timedelta

import pytest

from exts import db
from models import EmailCaptchaModel, RateLimitSlotModel, UserModel, utcnow
from tests.data import another_worker, backdate
from tests.http import free_port
from tests.site import PASSWORD, Site, text


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
    response = site.register("ann@example.com", code=code)
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
    response = site.register("ann@example.com", code="123456")
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
