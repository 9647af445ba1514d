"""Flask-WTF forms of the auth and qa blueprints, with the messages shown next to each field."""
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import (DataRequired, Email, EqualTo, InputRequired, Length, Regexp,
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


def email_field(label="Email"):
    return StringField(label, filters=[normalize_email], validators=[
        DataRequired("Enter your email address."),
        Length(max=EMAIL_MAX, message=f"An email address has at most {EMAIL_MAX} characters."),
        Email("Enter a valid email address, like name@example.com."),
    ])


class CaptchaForm(FlaskForm):
    email = email_field()


class RegisterForm(FlaskForm):
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

    def validate_email(self, field):
        if db.session.scalar(select(UserModel.id).where(UserModel.email == field.data)):
            raise ValidationError("This email is already registered: log in instead.")

    def validate_username(self, field):
        # One name as people read it: "Bob", "ＢＯＢ" and "bob" with a zero-width space are one.
        if len(visible_text.username_key(field.data)) > USERNAME_KEY_MAX:
            raise ValidationError(f"A username has 2 to {USERNAME_MAX} characters.")
        if username_taken(field.data):
            raise ValidationError(USERNAME_TAKEN)


class LoginForm(FlaskForm):
    email = email_field()
    password = PasswordField("Password", validators=[
        DataRequired("Enter your password."),
        Length(max=PASSWORD_MAX, message="Wrong email or password."),
    ])


class QuestionForm(FlaskForm):
    title = StringField("Title", filters=[strip], validators=[
        DataRequired("Give your question a title."),
        Length(max=TITLE_MAX, message=f"A title has at most {TITLE_MAX} characters."),
        VisibleText("A title"),
    ])
    content = TextAreaField("Details", filters=[strip], validators=[
        DataRequired("Describe your question."),
        Length(max=CONTENT_MAX, message=f"At most {CONTENT_MAX:,} characters."),
    ])


class AnswerForm(FlaskForm):
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
