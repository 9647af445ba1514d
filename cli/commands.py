"""Commands manage.py adds to Flask-Script and Flask-Migrate's own."""
import os
import sys

import flask_migrate
from flask import current_app
from flask_script import Command, Option


class InitMigrations(Command):
    """Creates a new migration repository (this project already has one)."""

    option_list = (
        Option("-d", "--directory", dest="directory", default=None,
               help="Migration script directory (default is 'migrations')"),
        Option("--multidb", dest="multidb", action="store_true", default=False,
               help="Multiple databases migration"),
    )

    def run(self, directory, multidb):
        directory = directory or current_app.extensions["migrate"].directory
        if os.path.isdir(directory) and os.listdir(directory):
            print(
                f"Error: {directory}/ already exists: this project ships its migration history, "
                "so 'db init' is not needed. Run 'python manage.py db upgrade' to apply it.",
                file=sys.stderr,
            )
            sys.exit(1)
        flask_migrate.init(directory, multidb)
