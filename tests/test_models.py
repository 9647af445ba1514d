"""Models: hashed passwords at the configured cost, per-row timestamps, readable reprs."""
import subprocess
import sys
from datetime import datetime

import pytest

from app import create_app
from exts import db
from models import QuestionModel, UserModel
from tests.cli import ROOT, clean_environ
from tests.data import make_user


def test_password_is_hashed_with_the_testing_cost_of_scrypt(app):
    user = make_user(password="correct horse battery")
    # Still scrypt, with N = 128 instead of 32768: tests hash hundreds of passwords.
    assert user.password_hash.startswith("scrypt:128:8:1$")
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse battery")
    assert not user.check_password("wrong")


@pytest.mark.parametrize("config", ["development", "production"])
def test_production_and_development_hash_at_the_full_cost_of_scrypt(monkeypatch, config):
    monkeypatch.setenv("SECRET_KEY", "s" * 64)
    app = create_app(config)
    with app.app_context():
        user = UserModel(username="ann", email="ann@example.com")
        user.set_password("correct horse battery")
    # werkzeug's default scrypt parameters: N=32768, r=8, p=1.
    assert user.password_hash.startswith("scrypt:32768:8:1$")
    assert user.check_password("correct horse battery")


def test_starting_the_cli_computes_no_password_hash():
    """The dummy hash of timing-safe logins is made at the first unknown email, not at import."""
    code = ("import manage, models; "
            "print(models._dummy_hash.cache_info().currsize)")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=clean_environ(),
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stdout) == (0, "0\n"), result.stderr


def test_timestamps_are_taken_per_row(app, monkeypatch):
    """The default is called for each row, not evaluated once at import."""
    import models

    clock = iter([datetime(2026, 1, 1, 8, 0), datetime(2026, 1, 2, 9, 30)])

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(clock).replace(tzinfo=tz)

    monkeypatch.setattr(models, "datetime", FakeDatetime)
    first = make_user("a@example.com")
    second = make_user("b@example.com")
    db.session.expire_all()
    assert (first.join_time, second.join_time) == (datetime(2026, 1, 1, 8, 0),
                                                   datetime(2026, 1, 2, 9, 30))


def test_repr_names_the_row(app):
    user = make_user()
    question = QuestionModel(title="Why?", content="Because.", author=user)
    db.session.add(question)
    db.session.commit()
    assert repr(user) == f"<UserModel {user.id} 'ann@example.com'>"
    assert repr(question) == f"<QuestionModel {question.id} 'Why?'>"
