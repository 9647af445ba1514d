"""Database models of the Q&A site."""
import functools
import secrets
from datetime import datetime, timezone

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

import db_objects
from exts import db
from visible_text import username_key

USERNAME_KEY_MAX = 255
# Compared byte for byte on MySQL too: the tables' utf8mb4_unicode_ci would also call "jose"
# and "josé" one name, where SQLite (and the key's own rules) do not.
USERNAME_KEY_TYPE = db.String(USERNAME_KEY_MAX).with_variant(
    db.String(USERNAME_KEY_MAX, collation="utf8mb4_bin"), "mysql", "mariadb")


def new_session_token():
    return secrets.token_urlsafe(32)


def utcnow():
    """Naive UTC now: what SQLite and MySQL DATETIME columns store."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class UserModel(db.Model):
    __tablename__ = "user"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(100), nullable=False)
    # The username as people read it (visible_text.username_key): one account per name.
    username_key = db.Column(USERNAME_KEY_TYPE, nullable=False, unique=True)
    email = db.Column(db.String(100), nullable=False, unique=True, index=True)
    password_hash = db.Column(db.String(255), nullable=False)
    join_time = db.Column(db.DateTime, nullable=False, default=utcnow)
    # Copied into each session cookie at login; a cookie holding another value is refused, so
    # replacing it (logout, a new password) ends every session of the user, on every device.
    # NULL until the first login.
    session_token = db.Column(db.String(64), nullable=True)

    @db.validates("username")
    def _set_username_key(self, key, value):
        self.username_key = username_key(value)
        return value

    def set_password(self, password):
        self.password_hash = generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"])
        # A new password ends the sessions the old one opened.
        self.end_sessions()

    def end_sessions(self):
        self.session_token = new_session_token()

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @staticmethod
    def check_no_password(password):
        """Spend what a wrong password costs, for an unknown email: the timing tells nothing."""
        check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)

    def __repr__(self):
        return f"<UserModel {self.id} {self.email!r}>"


@functools.cache
def _dummy_hash(method):
    # Made at the first login with an unknown email, not at import: every command and
    # worker start would otherwise pay for a full-cost hash it may never need.
    return generate_password_hash("not a real password", method=method)


class EmailCaptchaModel(db.Model):
    __tablename__ = "email_captcha"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(100), nullable=False, index=True)
    captcha = db.Column(db.String(100), nullable=False)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)
    used = db.Column(db.Boolean, nullable=False, default=False)
    attempts = db.Column(db.Integer, nullable=False, default=0)

    def __repr__(self):
        return f"<EmailCaptchaModel {self.id} {self.email!r}>"


class LoginFailureModel(db.Model):
    """No longer written (limits.py counts login checks now). Kept while the release before
    it may still run: a deploy migrates before the old server stops. A later revision drops it."""

    __tablename__ = "login_failure"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(100), nullable=False, index=True)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)

    def __repr__(self):
        return f"<LoginFailureModel {self.id} {self.email!r}>"


class RateLimitSlotModel(db.Model):
    """One use of a limit: a limit of N uses per window has at most N slot rows per bucket,
    and a slot is taken again only once its last use is older than the window (limits.py)."""

    __tablename__ = "rate_limit_slot"

    bucket = db.Column(db.String(200), primary_key=True)
    slot = db.Column(db.Integer, primary_key=True, autoincrement=False)
    taken_at = db.Column(db.DateTime, nullable=False, index=True)

    def __repr__(self):
        return f"<RateLimitSlotModel {self.bucket!r} {self.slot}>"


class QuestionModel(db.Model):
    __tablename__ = "question"

    id = db.Column(db.Integer, primary_key=True)
    title = db.Column(db.String(200), nullable=False)
    # Both kept by database triggers (migration 949dd11a1e1d), whoever inserts the rows.
    # seq numbers the questions 1, 2, 3... in the order they were asked, with no gaps, so that
    # page N of the list starts at a known seq: an index seek, not an OFFSET that reads and
    # skips every row before it.
    seq = db.Column(db.Integer, nullable=True, unique=True, index=True)
    # What COUNT(answers) would say, read with the question instead of counted per page.
    answer_count = db.Column(db.Integer, nullable=False, server_default="0")
    content = db.Column(db.Text, nullable=False)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False, index=True)

    author = db.relationship(UserModel, backref=db.backref("questions", lazy="dynamic"))

    def __repr__(self):
        return f"<QuestionModel {self.id} {self.title!r}>"


class AnswerModel(db.Model):
    __tablename__ = "answer"

    id = db.Column(db.Integer, primary_key=True)
    content = db.Column(db.Text, nullable=False)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow, index=True)
    question_id = db.Column(db.Integer, db.ForeignKey("question.id"), nullable=False)
    author_id = db.Column(db.Integer, db.ForeignKey("user.id"), nullable=False, index=True)
    # 1, 2, 3... within its question, in the order the answers came (a trigger sets it, and
    # the question's answer_count, which is the highest seq).
    seq = db.Column(db.Integer, nullable=True)

    question = db.relationship(
        QuestionModel,
        backref=db.backref("answers", lazy="dynamic", order_by="AnswerModel.seq.desc()"),
    )
    author = db.relationship(UserModel, backref=db.backref("answers", lazy="dynamic"))

    def __repr__(self):
        return f"<AnswerModel {self.id} question={self.question_id}>"


# A question's answers in display order (newest first = seq descending): a page of them is an
# index range, however many the question has. Named by the convention (ix_answer_question_id),
# so that it is renamed with its column, as the one-column index it replaced was.
db.Index(None, AnswerModel.question_id, AnswerModel.seq, unique=True)


# db.create_all() makes the triggers and search tables too, as db upgrade does.
db_objects.follow_create_all(db.metadata)
