"""Mail settings from MAIL_* variables, and the console mail a newcomer registers with."""
import http.cookiejar
import os
import re
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request

import pytest

from app import create_app
from setting import ConfigError, from_environment
from tests.conftest import csrf_token
from tests.http import first_answer, free_port


def test_mail_settings_come_from_the_environment():
    settings = from_environment({
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": "587", "MAIL_USE_TLS": "true",
        "MAIL_USE_SSL": "0", "MAIL_USERNAME": "robot", "MAIL_PASSWORD": "hunter2",
        "MAIL_DEFAULT_SENDER": "Q&A <qa@example.com>",
    })
    assert settings == {
        "MAIL_SERVER": "smtp.example.com", "MAIL_PORT": 587, "MAIL_USE_TLS": True,
        "MAIL_USE_SSL": False, "MAIL_USERNAME": "robot", "MAIL_PASSWORD": "hunter2",
        "MAIL_DEFAULT_SENDER": "Q&A <qa@example.com>",
    }


@pytest.mark.parametrize("env, message", [
    ({"MAIL_PORT": "twenty-five"}, "MAIL_PORT must be a number, not 'twenty-five'"),
    ({"MAIL_USE_TLS": "maybe"}, "MAIL_USE_TLS must be true or false, not 'maybe'"),
])
def test_bad_mail_settings_are_config_errors(env, message):
    with pytest.raises(ConfigError, match=message):
        from_environment(env)


def test_bad_mail_setting_is_one_line_from_the_cli(project):
    result = project.manage("db", "current", env={"MAIL_PORT": "x"}, check=False)
    assert result.returncode == 1
    assert result.stderr.strip() == "Error: MAIL_PORT must be a number, not 'x'"


@pytest.mark.parametrize("config, env, console", [
    ("development", {}, True),
    ("development", {"MAIL_SERVER": "smtp.example.com"}, False),
    ("testing", {}, False),
    ("production", {"SECRET_KEY": "s" * 64}, False),
])
def test_console_mail_only_in_development_without_a_server(monkeypatch, config, env, console):
    for name in ("MAIL_SERVER", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    app = create_app(config)
    assert app.config["MAIL_CONSOLE"] is console
    assert app.extensions["mail"].server == env.get("MAIL_SERVER", "127.0.0.1")


def test_a_newcomer_registers_with_the_code_from_the_console(project):
    """`manage.py runserver` with nothing set up: the code appears in the server's output."""
    project.manage("db", "upgrade")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "-h", "127.0.0.1", "-p", str(port), "-R"],
        cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert first_answer(base + "/", process=server)[0] == 200
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))

        def post(path, data, headers=None):
            request = urllib.request.Request(base + path, data=urllib.parse.urlencode(data).encode(),
                                             headers=headers or {})
            try:
                with opener.open(request) as response:
                    return response.status, response.geturl(), response.read().decode()
            except urllib.error.HTTPError as error:
                return error.code, None, error.read().decode()

        token = csrf_token(opener.open(base + "/auth/register").read().decode())
        status, _, body = post("/auth/captcha/email", {"email": "new@example.com"},
                               {"X-CSRFToken": token})
        assert status == 200 and '"code":200' in body.replace(" ", "")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=10)
    assert "MAIL_SERVER is not set, so this mail is printed instead of sent" in output
    assert "To: new@example.com" in output
    code = re.search(r"Your registration code is (\d{6})", output).group(1)
    # The printed code is the one stored for the address.
    rows = project.database.rows("email_captcha")
    assert [(r["email"], r["captcha"]) for r in rows] == [("new@example.com", code)]
