"""Flask-WTF forms of the auth and qa blueprints, with the messages shown next to each field."""
from flask import request
from flask_wtf import FlaskForm
from sqlalchemy import select
from werkzeug.datastructures import ImmutableMultiDict
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import (DataRequired, EqualTo, InputRequired, Length, Regexp,
                                ValidationError)

import visible_text
from exts import db
from models import USERNAME_KEY_MAX, UserModel

# Column sizes in models.py; a MySQL TEXT column holds 65,535 bytes, 10,000 emoji included.
EMAIL_MAX = 100
USERNAME_MAX = 100
TITLE_MAX = 200
CONTENT_MAX = 10_000
PASSWORD_MIN = 8
# scrypt hashes whatever it is given; a cap keeps a login post from costing seconds of CPU.
PASSWORD_MAX = 128
# Larger ids cannot exist (INTEGER columns), and SQLite raises OverflowError on them.
ID_MAX = 2**31 - 1


def strip(value):
    return value.strip() if isinstance(value, str) else value


def normalize_email(value):
    """Addresses are compared in lower case, so Ann@Example.com cannot register twice."""
    return value.strip().lower() if isinstance(value, str) else value


class VisibleText:
    """Refuses control and text-direction characters, and text with nothing visible in it."""

    def __init__(self, what):
        self.messages = {
            "control": f"{what} cannot contain control or text-direction characters.",
            "invisible": f"{what} needs visible characters.",
        }

    def __call__(self, form, field):
        problem = visible_text.problem(field.data or "")
        if problem:
            raise ValidationError(self.messages[problem])


def username_taken(name):
    return db.session.scalar(select(UserModel.id).where(
        UserModel.username_key == visible_text.username_key(name))) is not None


USERNAME_TAKEN = "This username is taken: choose another."


def deliverable_email(form, field):
    """A syntactically valid address that SMTP without SMTPUTF8 can carry, in its one form.

    A domain in any script is fine (it is mailed in its IDNA form, xn--...), and stored in
    Unicode, so that both spellings are one account. A mailbox name (before the @) outside
    ASCII needs SMTPUTF8, which most mail servers on the way do not offer: it is refused here
    rather than failing at sending.
    """
    local = field.data.rpartition("@")[0]
    if not local.isascii():
        raise ValidationError("Use only ASCII letters, digits and . _ + - before the @: "
                              "mail to other characters there cannot be delivered.")
    # Imported at the first address checked: email_validator compiles its regexes at import
    # (20 ms), which every start of the app, manage.py --help included, would otherwise pay.
    from email_validator import EmailNotValidError, validate_email

    try:
        address = validate_email(field.data, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        raise ValidationError("Enter a valid email address, like name@example.com.") from None
    field.data = address.normalized.lower()


def mailbox(address):
    """One name for the addresses that reach one mailbox: case and a +tag make no difference."""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}"


def email_field(label="Email"):
    return StringField(label, filters=[normalize_email], validators=[
        DataRequired("Enter your email address."),
        Length(max=EMAIL_MAX, message=f"An email address has at most {EMAIL_MAX} characters."),
        deliverable_email,
    ])


def submitted_text():
    """The text fields of the request's body; None when nothing was submitted.

    Flask-WTF would also hand the validators a field sent as a file upload (a FileStorage,
    which they cannot measure: a 500), and a JSON body's numbers and lists. Here such a field
    counts as not sent, so the form answers with its own message for it.
    """
    if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
        return None
    if request.form:
        return request.form
    if request.is_json:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            return ImmutableMultiDict([(k, v) for k, v in body.items() if isinstance(v, str)])
    return ImmutableMultiDict() if request.files else None


EXPIRED = ("This page was open too long to be sent as it was (its security token expired). "
           "What you typed is still here: check it and send it again.")


class TextForm(FlaskForm):
    """A form of text fields, filled from the request's text only (submitted_text)."""

    def __init__(self, *args, **kwargs):
        if not args and "formdata" not in kwargs:
            kwargs["formdata"] = submitted_text()
        super().__init__(*args, **kwargs)

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.meta.csrf and self.csrf_token.errors:
            # Views that check the token through their form (the answer and question forms,
            # exempt from CSRFProtect) show the form again, with what was typed and a fresh
            # token, instead of a 400 page that loses an hour's text.
            self.csrf_token.errors[:] = [EXPIRED if "expired" in error else error
                                         for error in self.csrf_token.errors]
        return valid


class CaptchaForm(TextForm):
    email = email_field()


class RegisterForm(TextForm):
    email = email_field()
    captcha = StringField("Code", filters=[strip], validators=[
        DataRequired("Enter the 6-digit code we emailed you."),
        Regexp(r"^\d{6}$", message="The code is 6 digits."),
    ])
    username = StringField("Username", filters=[strip], validators=[
        DataRequired("Choose a username."),
        Length(min=2, max=USERNAME_MAX,
               message=f"A username has 2 to {USERNAME_MAX} characters."),
        VisibleText("A username"),
    ])
    password = PasswordField("Password", validators=[
        DataRequired("Choose a password."),
        Length(min=PASSWORD_MIN, max=PASSWORD_MAX,
               message=f"A password has {PASSWORD_MIN} to {PASSWORD_MAX} characters."),
    ])
    password_confirm = PasswordField("Confirm password", validators=[
        DataRequired("Type the password again."),
        EqualTo("password", message="The two passwords do not match."),
    ])


    def validate_username(self, field):
        # One name as people read it: "Bob", "ＢＯＢ" and "bob" with a zero-width space are one.
        if len(visible_text.username_key(field.data)) > USERNAME_KEY_MAX:
            raise ValidationError(f"A username has 2 to {USERNAME_MAX} characters.")
        if username_taken(field.data):
            raise ValidationError(USERNAME_TAKEN)


class LoginForm(TextForm):
    email = email_field()
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password."),
        Length(max=PASSWORD_MAX, message="Wrong email or password."),
    ])


class QuestionForm(TextForm):
    title = StringField("Title", filters=[strip], validators=[
        DataRequired("Give your question a title."),
        Length(max=TITLE_MAX, message=f"A title has at most {TITLE_MAX} characters."),
        VisibleText("A title"),
    ])
    content = TextAreaField("Details", filters=[strip], validators=[
        DataRequired("Describe your question."),
        Length(max=CONTENT_MAX, message=f"At most {CONTENT_MAX:,} characters."),
    ])


class AnswerForm(TextForm):
    content = TextAreaField("Your answer", filters=[strip], validators=[
        DataRequired("Write your answer first."),
        Length(max=CONTENT_MAX, message=f"At most {CONTENT_MAX:,} characters."),
    ])
    question_id = HiddenField(validators=[InputRequired("Which question is this answering?")])

    def validate_question_id(self, field):
        try:
            value = int(field.data)
        except (TypeError, ValueError):
            raise ValidationError("Unknown question.") from None
        if not 1 <= value <= ID_MAX:
            raise ValidationError("Unknown question.")
        field.data = value
