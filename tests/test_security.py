"""Security headers and CSP, cookie flags, size limits, and the styled error pages."""
import io
import re

import pytest

from app import create_app
from exts import db
from models import AnswerModel, UserModel
from tests.cli import ROOT
from tests.data import add_questions
from tests.site import PASSWORD

PAGES = ["/", "/auth/register", "/auth/login", "/search?q=x", "/no/such/page"]
# Written out, not imported from app.py: a change to the policy must show up here.
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


@pytest.mark.parametrize("path", PAGES + ["/static/css/site.css"])
def test_security_headers_on_every_response(client, path):
    response = client.get(path)
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "Strict-Transport-Security" not in response.headers  # plain http in testing


@pytest.mark.parametrize("path", PAGES)
def test_pages_have_no_inline_script_style_or_remote_assets(client, path):
    page = client.get(path).get_data(as_text=True)
    scripts = re.findall(r"<script\b[^>]*>", page)
    assert scripts and all('src="/static/' in tag for tag in scripts)
    assert not re.search(r"<style\b", page)
    assert not re.search(r"\sstyle=", page)
    assert not re.search(r"\son[a-z]+=", page)
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_templates_reference_no_cdn():
    for template in (ROOT / "templates").rglob("*.html"):
        assert not re.search(r"https?://", template.read_text()), template


def test_vendored_bootstrap_is_served(client):
    css = client.get("/static/vendor/bootstrap-5.3.8/css/bootstrap.min.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert b"Bootstrap  v5.3.8" in css.data
    js = client.get("/static/vendor/bootstrap-5.3.8/js/bootstrap.bundle.min.js")
    assert js.status_code == 200 and js.mimetype in {"text/javascript", "application/javascript"}
    assert (ROOT / "static/vendor/bootstrap-5.3.8/LICENSE").exists()


def test_production_cookies_are_secure_and_hsts_is_sent(database, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "p" * 64)
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": database.at_head().url})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    with app.app_context():
        response = app.test_client().get("/auth/register", base_url="https://qa.example")
        db.engine.dispose()
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


@pytest.mark.parametrize("path", ["/auth/login", "/auth/register", "/qa/public", "/answer/public"])
def test_oversize_post_is_a_styled_413(site, client, path):
    if path.startswith(("/qa", "/answer")):
        site.signed_up()  # a visitor who is not logged in is sent to log in, body unread
    response = client.post(path, data={"content": "x" * (600 * 1024)})
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "Request Entity Too Large" in page and "Back to the questions" in page


def test_oversize_post_to_the_code_endpoint_is_json(client):
    response = client.post("/auth/captcha/email", data={"email": "x" * (600 * 1024)})
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_the_largest_real_answer_fits_under_the_limit(site, app):
    site.signed_up()
    (question,) = add_questions(UserModel.query.one(), 1)
    # 10,000 emoji, percent-encoded, are about 120 KiB.
    assert site.answer(question.id, "😀" * 10_000).status_code == 302
    assert AnswerModel.query.one().content == "😀" * 10_000


@pytest.fixture
def failing_app(app):
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.route("/boom")
    def boom():
        raise RuntimeError("secret detail of the failure")

    return app


def test_unexpected_error_is_a_styled_500_without_details(failing_app):
    response = failing_app.test_client().get("/boom")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "Internal Server Error" in page and "Back to the questions" in page
    assert "secret detail" not in page and "Traceback" not in page
    assert response.headers["X-Frame-Options"] == "DENY"


def test_unexpected_error_as_json_for_scripts(failing_app):
    response = failing_app.test_client().get("/boom", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.json["code"] == 500 and "secret" not in response.json["message"]


@pytest.mark.parametrize("path, status, name", [
    ("/nope", 404, "Not Found"),
    ("/auth/logout", 405, "Method Not Allowed"),
])
def test_error_pages_use_the_layout(client, path, status, name):
    response = client.get(path)
    assert response.status_code == status
    page = response.get_data(as_text=True)
    assert f"<title>{status} {name} · Q&amp;A</title>" in page
    assert "navbar" in page and "bootstrap.min.css" in page


# Every form and every field, a file upload in the field's place (the rest sent as text).
UPLOADS = {
    "/auth/captcha/email": ({"email": "ann@example.com"},
                            {"email": "Enter your email address."}),
    "/auth/register": ({"email": "ann@example.com", "captcha": "123456", "username": "ann",
                        "password": PASSWORD, "password_confirm": PASSWORD},
                       {"email": "Enter your email address.",
                        "captcha": "Enter the 6-digit code we emailed you.",
                        "username": "Choose a username.", "password": "Choose a password.",
                        "password_confirm": "Type the password again."}),
    "/auth/login": ({"email": "ann@example.com", "password": PASSWORD},
                    {"email": "Enter your email address.", "password": "Enter your password."}),
    "/qa/public": ({"title": "A title", "content": "A question"},
                   {"title": "Give your question a title.",
                    "content": "Describe your question."}),
    "/answer/public": ({"content": "An answer", "question_id": "1"},
                       {"content": "Write your answer first.",
                        "question_id": "There is no such question to answer."}),
    "/auth/logout": ({}, {}),
}
UPLOAD_CASES = [(path, field, message) for path, (_, messages) in UPLOADS.items()
                for field, message in [*messages.items(),
                                       ("csrf_token", "The CSRF token is missing.")]]


@pytest.mark.parametrize("path, field, message", UPLOAD_CASES,
                         ids=[f"{path}:{field}" for path, field, _ in UPLOAD_CASES])
def test_a_field_sent_as_a_file_is_refused_with_the_forms_message(site, client, app, path,
                                                                  field, message):
    logged_in = path.startswith(("/qa", "/answer"))
    if logged_in:
        site.signed_up()
        add_questions(UserModel.query.one(), 1)
    fields, _ = UPLOADS[path]
    data = {**fields, "csrf_token": site.token("/qa/public" if logged_in else "/auth/login")}
    data[field] = (io.BytesIO(b"ann@example.com"), "upload.txt")
    response = client.post(path, data=data, content_type="multipart/form-data")
    # A question id nobody can answer is the answer form's 404, as when it is missing.
    assert response.status_code == (404 if field == "question_id" else 400)
    body = response.json["message"] if path == "/auth/captcha/email" else response.get_data(
        as_text=True)
    assert message in body
    assert UserModel.query.count() == (1 if logged_in else 0)
    assert AnswerModel.query.count() == 0


@pytest.mark.parametrize("body", [{"email": 5}, {"email": ["ann@example.com"]}, [1, 2], "x"])
def test_a_json_body_of_anything_but_text_fields_is_refused_with_the_forms_message(site, client,
                                                                                  body):
    response = client.post("/auth/captcha/email", json=body,
                           headers={"X-CSRFToken": site.token()})
    assert (response.status_code, response.json["message"]) == (400, "Enter your email address.")
