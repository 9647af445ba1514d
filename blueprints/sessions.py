"""Logged-in sessions: starting one, ending all of a user's, and finding a request's user.

A session cookie holds the user's id and the user's session token (UserModel.session_token).
Flask signs the cookie but cannot revoke it, so revocation is the token's job: a new token
makes every cookie holding the old one worthless (Flask-Login's "alternative token" pattern).
Sessions are permanent cookies, refused once unused for SESSION_IDLE_SECONDS
(PERMANENT_SESSION_LIFETIME: Flask checks the cookie's signed time), and renewed by a request
once they are SESSION_RENEW_SECONDS old, not on every request (CookieSessions).
"""
import hmac
import time

from flask import session
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import BadSignature
from sqlalchemy import bindparam, select

from exts import db
from models import UserModel, new_session_token

# What a page needs of the user whose session it is, one indexed row: the ORM object would
# cost more than the page's query (views that change the user load it, with load_user).
SESSION_USER = select(UserModel.id, UserModel.username, UserModel.session_token).where(
    UserModel.id == bindparam("id"))


class CookieSessions(SecureCookieSessionInterface):
    """Flask's signed cookie sessions, renewed at most once per SESSION_RENEW_SECONDS.

    Flask re-signs and sends a permanent session's cookie with every response: a quarter of a
    logged-in page's cost. The idle limit only needs the cookie's signed time to move on now
    and then, so a session may end up to SESSION_RENEW_SECONDS before SESSION_IDLE_SECONDS
    of idleness are over; a changed session is sent at once, as always.
    """

    # (the keys, the serializer made from them)
    _serializer = None

    def get_signing_serializer(self, app):
        # Flask builds one per request and two per renewal: it depends only on the keys.
        keys = (app.secret_key, tuple(app.config["SECRET_KEY_FALLBACKS"] or ()))
        kept = self._serializer
        if kept is None or kept[0] != keys:
            kept = self._serializer = (keys, super().get_signing_serializer(app))
        return kept[1]

    def open_session(self, app, request):
        if not app.secret_key:
            return None  # Flask's NullSession, as without this class
        value = request.cookies.get(self.get_cookie_name(app))
        if not value:
            return self.session_class()
        serializer = self.get_signing_serializer(app)
        max_age = int(app.permanent_session_lifetime.total_seconds())
        try:
            data, signed_at = serializer.loads(value, max_age=max_age, return_timestamp=True)
        except BadSignature:
            return self.session_class()
        opened = self.session_class(data)
        opened.signed_at = signed_at.timestamp()
        return opened

    def should_set_cookie(self, app, session):
        if session.modified:
            return True
        if not session.permanent or not app.config["SESSION_REFRESH_EACH_REQUEST"]:
            return False
        signed_at = getattr(session, "signed_at", None)
        return signed_at is None or time.time() - signed_at >= app.config[
            "SESSION_RENEW_SECONDS"]


def log_in(user):
    """Make this client's session *user*'s; commits."""
    if not user.session_token:
        user.session_token = new_session_token()
        db.session.commit()
    # A fresh session on login: nothing set before it (a planted id) carries over.
    session.clear()
    session.permanent = True
    session["user_id"] = user.id
    session["session_token"] = user.session_token


def log_out_everywhere(user):
    """End *user*'s (a model or the session's row) sessions on every device, this one
    included; commits."""
    if user is not None:
        load_user(user).end_sessions()
        db.session.commit()
    session.clear()


def load_user(user):
    """The UserModel of *user*, which may be the session's row (g.user)."""
    return user if isinstance(user, UserModel) else db.session.get(UserModel, user.id)


def session_user():
    """The id, username and session token of the user this request's session belongs to
    (a row), or None (and the session is emptied)."""
    user_id, token = session.get("user_id"), session.get("session_token")
    if not isinstance(user_id, int) or not isinstance(token, str):
        if user_id is not None:
            session.clear()  # a cookie from before session tokens
        return None
    user = db.session.connection().execute(SESSION_USER, {"id": user_id}).first()
    if user is None or not user.session_token or not hmac.compare_digest(
            user.session_token.encode(), token.encode()):
        session.clear()
        return None
    return user
