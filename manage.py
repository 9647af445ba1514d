"""Command line: python manage.py db|runserver|shell|seed|worker ... (see --help)."""
import compat  # noqa: F401  (must come before flask_script and flask_migrate)

from flask import current_app
from flask_migrate import MigrateCommand
from flask_script import Manager, Shell

from app import app
from cli.commands import InitMigrations
from cli.db import add_safety_commands
from cli.errors import one_line_errors
from cli.recover import Recover
from cli.serve import CheckedServer
from cli.seed import Seed
from exts import db
from mailqueue.worker import Worker
from models import (AnswerModel, EmailCaptchaModel, LoginFailureModel, QuestionModel,
                    RateLimitSlotModel, UserModel)


def make_shell_context():
    # The app the manager runs (commands run inside its context).
    return dict(app=current_app._get_current_object(), db=db, UserModel=UserModel, EmailCaptchaModel=EmailCaptchaModel,
                QuestionModel=QuestionModel, AnswerModel=AnswerModel,
                LoginFailureModel=LoginFailureModel, RateLimitSlotModel=RateLimitSlotModel)


MigrateCommand.add_command("init", InitMigrations())
MigrateCommand.add_command("recover", Recover())
add_safety_commands(MigrateCommand)  # migrate, upgrade, downgrade, stamp checked; check, adopt...

manager = Manager(app)
manager.add_command("db", MigrateCommand)
manager.add_command("runserver", CheckedServer(threaded=True))
manager.add_command("shell", Shell(make_context=make_shell_context))
manager.add_command("seed", Seed())
manager.add_command("worker", Worker())

if __name__ == "__main__":
    with one_line_errors():
        manager.run()
