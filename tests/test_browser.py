"""End to end in headless Chromium: register with the mailed code, log in, ask, answer, search, log out."""
import os
import random
import re
import threading
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.serving import make_server

from cli.seed import seed
from tests.http import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "browser"


@pytest.fixture
def live_server(app):
    """The test app served over real HTTP on loopback, each request in its own thread."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def browser():
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Chromium logs every 4xx answer as a console error; the tests provoke some (a refused form,
# a 404, a 429), so those are checked through responses instead.
HTTP_STATUS_LOG = "Failed to load resource: the server responded with a status of"


class Recorder:
    """Console errors (CSP violations among them), script errors and failed subresources."""

    def __init__(self, page):
        self.problems = []
        page.on("console", self.console)
        page.on("pageerror", lambda error: self.problems.append(f"script error: {error}"))
        page.on("requestfailed", lambda request: self.problems.append(f"failed: {request.url}"))
        page.on("response", self.response)

    def console(self, message):
        if message.type == "error" and not message.text.startswith(HTTP_STATUS_LOG):
            self.problems.append(message.text)

    def response(self, response):
        if response.status >= 400 and response.request.resource_type not in {"document", "fetch"}:
            self.problems.append(f"{response.status}: {response.url}")


@pytest.fixture
def shoot(backend):
    """Save a full-page screenshot, in a folder per backend (both run at once)."""
    folder = ARTIFACTS / backend
    folder.mkdir(parents=True, exist_ok=True)

    def save(page, name):
        page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    return save


def test_a_visitor_registers_asks_answers_searches_and_logs_out(app, live_server, browser, mailbox,
                                                                shoot):
    seed(4, 30, 60, random.Random(7))  # a lived-in front page
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    recorder = Recorder(page)

    page.goto(live_server + "/auth/register")
    page.fill("#email", "xiaoming@example.com")
    page.click("#send-code")
    expect(page.locator("#send-code-status")).to_have_text(
        "We sent an email to xiaoming@example.com. Codes are valid for 10 minutes.")
    expect(page.locator("#send-code")).to_be_disabled()
    expect(page.locator("#send-code")).to_have_text(re.compile(r"Resend in \d+ s"))
    code = mailbox.last_code("xiaoming@example.com")

    # A first try with a typo in the confirmation shows the message under the field.
    page.fill("#captcha", code)
    page.fill("#username", "小明 🚀")
    page.fill("#password", "correct horse battery")
    page.fill("#password_confirm", "correct horse batery")
    page.click("button[type=submit] >> text=Create account")
    expect(page.locator(".invalid-feedback")).to_have_text("The two passwords do not match.")
    shoot(page, "01-register-error")
    page.fill("#password", "correct horse battery")
    page.fill("#password_confirm", "correct horse battery")
    page.click("button[type=submit] >> text=Create account")

    expect(page).to_have_url(live_server + "/auth/login?email=xiaoming@example.com")
    expect(page.locator(".alert-success")).to_contain_text("Your account is ready")
    shoot(page, "02-login")
    page.fill("#password", "correct horse battery")
    page.click("button[type=submit] >> text=Log in")
    expect(page.locator(".alert-success")).to_have_text(re.compile("Welcome back, 小明 🚀!"))
    expect(page.locator(".user-name")).to_have_text("小明 🚀")
    shoot(page, "03-index-logged-in")

    page.click("text=Ask a question")
    expect(page).to_have_url(live_server + "/qa/public")
    page.fill("#title", "如何在 Flask 里分页？🤔")
    page.fill("#content", "我有一万个问题。\n<b>粗体</b> should stay text.")
    page.click("text=Post question")
    expect(page.locator("h1.question-title")).to_have_text("如何在 Flask 里分页？🤔")
    expect(page.locator(".question-content")).to_have_text("我有一万个问题。\n<b>粗体</b> should stay text.")

    page.fill("#content", "用 LIMIT/OFFSET，或者 db.paginate() 👍")
    page.click("text=Post answer")
    expect(page.locator(".alert-success")).to_have_text(re.compile("Your answer is posted."))
    expect(page.locator(".answer-content")).to_have_text("用 LIMIT/OFFSET，或者 db.paginate() 👍")
    expect(page.locator("h2")).to_have_text("1 answer")
    shoot(page, "04-detail")

    page.fill("nav input[name=q]", "分页")
    page.press("nav input[name=q]", "Enter")
    expect(page).to_have_url(re.compile(r"/search\?q="))
    expect(page.locator(".question-title").first).to_have_text("如何在 Flask 里分页？🤔")
    shoot(page, "05-search")

    page.click("text=Log out")
    expect(page.locator(".alert-info")).to_have_text(re.compile("You are logged out."))
    expect(page.locator("nav.navbar")).to_contain_text("Register")
    shoot(page, "06-logged-out")

    page.goto(live_server + "/qa/detail/999999")
    expect(page.locator("h1")).to_have_text("Not Found")
    shoot(page, "07-not-found")

    assert recorder.problems == []


def test_phone_layout_and_resend_wait(app, live_server, browser, mailbox, shoot):
    seed(3, 25, 40, random.Random(3))
    page = browser.new_page(viewport={"width": 390, "height": 844})
    recorder = Recorder(page)
    page.goto(live_server + "/")
    # The menu folds behind the toggler, and opens with Bootstrap's script.
    expect(page.locator("#nav")).to_be_hidden()
    page.click(".navbar-toggler")
    expect(page.locator("#nav")).to_be_visible()
    shoot(page, "08-phone-index")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")

    page.goto(live_server + "/auth/register")
    page.fill("#email", "bo@example.com")
    page.click("#send-code")
    expect(page.locator("#send-code")).to_be_disabled()
    # Another tab asks again within the minute: the server refuses and says how long to wait.
    other = browser.new_page()
    other.goto(live_server + "/auth/register")
    other.fill("#email", "bo@example.com")
    other.click("#send-code")
    expect(other.locator("#send-code-status")).to_have_text(
        re.compile(r"A code was just sent. Try again in \d+ s."))
    expect(other.locator("#send-code")).to_be_disabled()
    shoot(page, "09-phone-register")
    assert len(mailbox.codes_for("bo@example.com")) == 1
    assert recorder.problems == []
