"""Database models of the Q&A site."""
import functools
from datetime import datetime, timezone

from flask import current_app
from werkzeug.security import check_password_hash, generate_password_hash

from exts import db


def utcnow():
    """Naive UTC now: what SQLite and MySQL DATETIME columns store."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


class UserModel(db.Model):
    __tablename__ = "user"

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(100), nullable=False)
    email = db.Column(db.String(100), nullable=False, unique=True, index=True)
    password_hash = db.Column(db.String(255), nullable=False)
    join_time = db.Column(db.DateTime, nullable=False, default=utcnow)

    def set_password(self, password):
        self.password_hash = generate_password_hash(
            password, method=current_app.config["PASSWORD_HASH_METHOD"])

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
    """One failed login; recent rows per email throttle password guessing across workers."""

    __tablename__ = "login_failure"

    id = db.Column(db.Integer, primary_key=True)
    email = db.Column(db.String(100), nullable=False, index=True)
    create_time = db.Column(db.DateTime, nullable=False, default=utcnow)

    def __repr__(self):
        return f"<LoginFailureModel {self.id} {self.email!r}>"


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
