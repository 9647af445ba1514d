"""Logged-in sessions: starting one, ending all of a user's, and finding a request's user.

A session cookie holds the user's id and the user's session token (UserModel.session_token).
Flask signs the cookie but cannot revoke it, so revocation is the token's job: a new token
makes every cookie holding the old one worthless (Flask-Login's "alternative token" pattern).
Sessions are permanent cookies renewed on each request, refused once unused for
SESSION_IDLE_SECONDS (PERMANENT_SESSION_LIFETIME: Flask checks the cookie's signed time).
"""
import hmac

from flask import session

from exts import db
from models import UserModel, new_session_token


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
    """End *user*'s sessions on every device, this one included; commits."""
    if user is not None:
        user.end_sessions()
        db.session.commit()
    session.clear()


def session_user():
    """The user this request's session belongs to, or None (and the session is emptied)."""
    user_id, token = session.get("user_id"), session.get("session_token")
    if not isinstance(user_id, int) or not isinstance(token, str):
        if user_id is not None:
            session.clear()  # a cookie from before session tokens
        return None
    user = db.session.get(UserModel, user_id)
    if user is None or not user.session_token or not hmac.compare_digest(
            user.session_token.encode(), token.encode()):
        session.clear()
        return None
    return user
