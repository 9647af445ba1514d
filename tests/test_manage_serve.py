"""``python manage.py runserver`` and ``shell``, run as a user runs them."""
import os
import signal
import subprocess
import sys

import pytest

from tests.http import first_answer, free_port


@pytest.mark.parametrize("reload_flag", [[], ["-R"]], ids=["reloader", "no-reloader"])
def test_runserver_serves_the_question_list(project, reload_flag):
    project.manage("db", "upgrade")
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "-h", "0.0.0.0", "-p", str(port), *reload_flag],
        cwd=project.root, env=project.env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True, start_new_session=True,
    )
    try:
        status, body = first_answer(f"http://127.0.0.1:{port}/", process=server)
        assert status == 200
        assert "No questions yet." in body
    finally:
        # The reloader runs the server in a child: stop the whole process group.
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=10)
    assert f"Running on http://127.0.0.1:{port}" in output
    assert "Traceback" not in output


def test_shell_preloads_app_db_and_models(project):
    project.manage("db", "upgrade")
    script = (
        "print(sorted(set(dir()) & {'app', 'db', 'UserModel', 'EmailCaptchaModel',"
        " 'QuestionModel', 'AnswerModel'}))\n"
        "u = UserModel(username='ann', email='ann@example.com'); u.set_password('correct horse')\n"
        "db.session.add(u); db.session.commit()\n"
        "print('users:', UserModel.query.count(), app.config['SQLALCHEMY_DATABASE_URI'])\n"
    )
    result = project.manage("shell", "--no-ipython", "--no-bpython", "--no-ptipython",
                            "--no-ptpython", input=script)
    assert ("['AnswerModel', 'EmailCaptchaModel', 'QuestionModel', 'UserModel', 'app', 'db']"
            in result.stdout)
    assert f"users: 1 {project.database_url}" in result.stdout
    assert "Error" not in result.stderr


def test_help_lists_the_commands(project):
    result = project.manage("--help")
    for command in ("db", "runserver", "shell"):
        assert command in result.stdout
    db_help = project.manage("db", "--help").stdout
    for command in ("init", "migrate", "upgrade", "downgrade", "history", "current", "stamp"):
        assert command in db_help
