"""The floor under bench/web's pages: `/`'s query alone on a bare Flask app, no template."""
import os

from flask import Flask
from sqlalchemy import create_engine

import setting
# The statement `/` runs, built once as the site builds it; blueprints.qa brings models and
# extensions but not app.py, so no app is made and no request hook runs here.
from blueprints.qa import QUESTION_PAGE

app = Flask(__name__)
# The engine the site makes for DATABASE_URL: the app's own URL and engine options (on
# MariaDB utf8mb4, strict mode, no ping, no reset on return), applied by the app's function.
# Left out: exts.configure_sqlite's pragmas act at connect time and WAL stays in the file;
# exts.configure_mysql pings only connections idle 2 s and rolls back only open transactions,
# so under load neither adds a round trip to this view.
app.config.update(
    SQLALCHEMY_DATABASE_URI=setting.normalize_database_url(os.environ["DATABASE_URL"]),
    DATABASE_POOL_RECYCLE=setting.Config.DATABASE_POOL_RECYCLE)
setting.configure_database(app)
engine = create_engine(app.config["SQLALCHEMY_DATABASE_URI"],
                       **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {}))
# Page 1 of `/`: 20 questions and one more, which tells whether a next page exists.
FIRST_PAGE = {"skip": 0, "limit": 21}


@app.route("/")
def first_page():
    with engine.connect() as connection:
        rows = connection.execute(QUESTION_PAGE, FIRST_PAGE).all()
        # As the site's requests end (Flask-SQLAlchemy's session.remove): a round trip on
        # MariaDB, and the connection goes back to the pool with nothing more to do.
        connection.rollback()
    return str(len(rows))
