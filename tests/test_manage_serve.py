"""``python manage.py runserver`` and ``shell``, run as a newcomer runs them."""
import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.http import free_port
from tests.site import csrf_token

BEHIND = "The database is behind the code"


class Browser:
    """A visitor with cookies, over real HTTP."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path) as response:
            return response.status, response.read().decode()

    def post(self, path, data, headers=None):
        request = urllib.request.Request(self.base + path, headers=headers or {},
                                         data=urllib.parse.urlencode(data).encode())
        try:
            with self.opener.open(request) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()


@pytest.mark.parametrize("reload_flag", [[], ["-R"]], ids=["reloader", "no-reloader"])
def test_runserver_warns_of_a_pending_migration_serves_and_prints_the_mail(project, reload_flag):
    """A newcomer's first session: runserver with nothing set up but a database one revision
    behind. It warns as it starts, serves the list, and prints the registration code."""
    project.manage("db", "upgrade")
    project.add_revision("f1f1f1f1f1f1", "pending drill", "op.create_table('drill_p', "
                         "sa.Column('id', sa.Integer(), primary_key=True))",
                         "op.drop_table('drill_p')")
    port = free_port()
    with project.background("manage.py", "runserver", "-h", "0.0.0.0", "-p", str(port),
                            *reload_flag) as server:
        # Before any request: the warning comes from the start-up, not from a first request.
        assert server.wait_for(BEHIND), server.output
        status, body = server.answer(f"http://127.0.0.1:{port}/")
        assert status == 200 and "No questions yet." in body

        visitor = Browser(f"http://127.0.0.1:{port}")
        token = csrf_token(visitor.get("/auth/register")[1])
        status, body = visitor.post("/auth/captcha/email", {"email": "new@example.com"},
                                    {"X-CSRFToken": token})
        assert (status, json.loads(body)["code"]) == (200, 200)
        assert server.wait_for("Your registration code is"), server.output
    output = server.output
    assert f"Running on http://127.0.0.1:{port}" in output
    assert output.count(BEHIND) == 1, output
    assert "Traceback" not in output
    assert "MAIL_SERVER is not set, so this mail is printed instead of sent" in output
    assert "To: new@example.com" in output
    code = re.search(r"Your registration code is (\d{6})", output).group(1)
    # The printed code is the one stored for the address.
    rows = project.database.rows("email_captcha")
    assert [(r["email"], r["captcha"]) for r in rows] == [("new@example.com", code)]


def test_shell_preloads_app_db_and_models(project):
    project.manage("db", "upgrade")
    script = (
        "print(sorted(set(dir()) & {'app', 'db', 'UserModel', 'EmailCaptchaModel',"
        " 'QuestionModel', 'AnswerModel', 'LoginFailureModel'}))\n"
        "u = UserModel(username='ann', email='ann@example.com'); u.set_password('correct horse')\n"
        "db.session.add(u); db.session.commit()\n"
        "print('users:', UserModel.query.count(), app.config['SQLALCHEMY_DATABASE_URI'])\n"
    )
    result = project.manage("shell", "--no-ipython", "--no-bpython", "--no-ptipython",
                            "--no-ptpython", input=script)
    assert ("['AnswerModel', 'EmailCaptchaModel', 'LoginFailureModel', 'QuestionModel', "
            "'UserModel', 'app', 'db']" in result.stdout)
    assert f"users: 1 {project.database_url}" in result.stdout
    assert result.stderr == "\nnow exiting InteractiveConsole...\n"


def test_help_lists_the_commands(project):
    result = project.manage("--help")
    for command in ("db", "runserver", "shell", "seed"):
        assert re.search(rf"^\s+{command}\s+\S", result.stdout, re.M), command
    db_help = project.manage("db", "--help").stdout
    for command in ("init", "migrate", "upgrade", "downgrade", "history", "current", "stamp",
                    "check", "recover"):
        assert re.search(rf"^\s+{command}\s+\S", db_help, re.M), command
