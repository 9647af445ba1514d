"""How sessions end: logout and a new password end every copy of the cookie; idleness ends it."""
import copy
import time

import pytest
from itsdangerous import TimestampSigner

from exts import db
from models import UserModel
from tests.site import IsolatedClient, Site


def logged_in(client):
    """Whether *client*'s cookie is a live session: a login-only page answers, not a redirect."""
    return client.get("/qa/public").status_code == 200


def cookie(client):
    return client.get_cookie("session").value


def test_logout_ends_every_copy_of_the_session(app, site, client, mailbox):
    site.signed_up()
    saved = cookie(client)
    laptop = IsolatedClient.of(app)
    assert Site(laptop, mailbox).login().status_code == 302
    assert logged_in(client) and logged_in(laptop)

    assert site.logout().status_code == 302
    assert not logged_in(client)
    # The cookie as it was before the logout, replayed (stolen, or kept by another tab).
    client.set_cookie("session", saved)
    assert not logged_in(client)
    # The same account on another device is logged out too.
    assert not logged_in(laptop)
    # A new login works again.
    assert site.login().status_code == 302 and logged_in(client)


def test_a_new_password_ends_every_session(app, site, client):
    user_id = site.signed_up()
    saved = cookie(client)
    user = db.session.get(UserModel, user_id)
    user.set_password("a brand new password")
    db.session.commit()
    assert not logged_in(client)
    client.set_cookie("session", saved)
    assert not logged_in(client)
    assert site.login(password="a brand new password").status_code == 302


def aged(app, value, seconds):
    """The session cookie *value* as if it had last been renewed *seconds* ago (same content,
    signed by the app's own key with an older time)."""
    # A copy: the app keeps its serializer (blueprints/sessions.py) and must not sign with this.
    serializer = copy.copy(app.session_interface.get_signing_serializer(app))
    data = serializer.loads(value)

    class Earlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    serializer.signer = Earlier
    return serializer.dumps(data)


def test_a_session_unused_for_the_idle_time_is_refused(make_app, mailbox):
    app = make_app(SESSION_IDLE_SECONDS=3600)
    client = IsolatedClient.of(app)
    Site(client, mailbox).signed_up()
    value = cookie(client)
    client.set_cookie("session", aged(app, value, 3500))
    assert logged_in(client)
    # Each request renews it: the cookie just sent back is fresh again.
    client.set_cookie("session", aged(app, cookie(client), 3500))
    assert logged_in(client)
    client.set_cookie("session", aged(app, value, 3700))
    assert not logged_in(client)


def test_the_session_cookie_lasts_the_idle_time(site, client, app):
    site.signed_up()
    seconds = app.config["SESSION_IDLE_SECONDS"]
    assert seconds == 12 * 3600
    left = client.get_cookie("session").expires.timestamp() - time.time()
    assert seconds - 60 < left <= seconds


def test_a_session_is_renewed_once_it_is_older_than_the_renewal_time(site, client, app):
    site.signed_up()
    client.get("/")  # shows (and takes out of the session) the welcome message
    fresh = client.get("/")
    # Signed moments ago: the page sends no cookie, and the session is still the same.
    assert fresh.status_code == 200 and fresh.headers.getlist("Set-Cookie") == []
    renew = app.config["SESSION_RENEW_SECONDS"]
    assert renew == 60
    client.set_cookie("session", aged(app, cookie(client), renew - 5))
    assert client.get("/").headers.getlist("Set-Cookie") == []
    client.set_cookie("session", aged(app, cookie(client), renew + 5))
    (renewed,) = client.get("/").headers.getlist("Set-Cookie")
    assert renewed.startswith("session=")
    # The renewed cookie is signed now, and still logged in.
    serializer = app.session_interface.get_signing_serializer(app)
    _data, signed_at = serializer.loads(cookie(client), return_timestamp=True)
    assert abs(signed_at.timestamp() - time.time()) < 5
    assert logged_in(client)


def test_renewal_time_must_be_below_the_idle_time(make_app):
    from setting import ConfigError

    with pytest.raises(ConfigError, match="SESSION_RENEW_SECONDS must be below"):
        make_app(SESSION_IDLE_SECONDS=60, SESSION_RENEW_SECONDS=60)


def test_a_changed_secret_key_takes_effect_at_once(site, client, app):
    site.signed_up()
    assert logged_in(client)
    saved, old = cookie(client), app.secret_key
    app.secret_key = "rotated-" + old
    assert not logged_in(client)  # the cookie was signed with the old key
    client.set_cookie("session", saved)
    app.config["SECRET_KEY_FALLBACKS"] = [old]
    assert logged_in(client)
