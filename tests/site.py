"""What a visitor does through the test client: every form posted with its CSRF token."""
import re

from flask.testing import FlaskClient

from exts import db

CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
PASSWORD = "correct horse battery"
# register()'s default username: the address's local part (None sends no username at all).
OWN_NAME = object()


def text(response):
    return response.get_data(as_text=True)


def csrf_token(html):
    tag = CSRF_INPUT.search(html)
    assert tag, "the page has no csrf_token field"
    return re.search(r'value="([^"]+)"', tag.group(0)).group(1)


class Site:
    """A visitor on *client*, reading mailed codes from *mailbox*."""

    def __init__(self, client, mailbox):
        self.client = client
        self.mailbox = mailbox

    def token(self, path="/auth/register"):
        return csrf_token(text(self.client.get(path)))

    def send_code(self, address, headers=None):
        headers = {"X-CSRFToken": self.token(), **(headers or {})}
        return self.client.post("/auth/captcha/email", data={"email": address}, headers=headers)

    def register(self, address="ann@example.com", password=PASSWORD, username=OWN_NAME,
                 code=None, **fields):
        # Usernames are unique: by default each address gets its own (ann@… is "ann").
        username = address.split("@")[0] if username is OWN_NAME else username
        if code is None:
            assert self.send_code(address).status_code == 200
            code = self.mailbox.last_code(address)
        data = {"email": address, "captcha": code, "username": username, "password": password,
                "password_confirm": password, "csrf_token": self.token()}
        data.update(fields)
        return self.client.post("/auth/register",
                                data={k: v for k, v in data.items() if v is not None})

    def login(self, address="ann@example.com", password=PASSWORD, next=None):
        data = {"email": address, "password": password, "csrf_token": self.token("/auth/login")}
        url = "/auth/login" + (f"?next={next}" if next else "")
        return self.client.post(url, data=data)

    def signed_up(self, address="ann@example.com", username=OWN_NAME):
        """Register and log in; the user's id."""
        assert self.register(address, username=username).status_code == 302
        assert self.login(address).status_code == 302
        with self.client.session_transaction() as session:
            return session["user_id"]

    def logout(self):
        return self.client.post("/auth/logout", data={"csrf_token": self.token("/")})

    def ask(self, title="How do I paginate?", content="With LIMIT and OFFSET?"):
        return self.client.post("/qa/public", data={"title": title, "content": content,
                                                    "csrf_token": self.token("/qa/public")})

    def answer(self, question_id, content="Use db.paginate."):
        return self.client.post("/answer/public", data={
            "content": content, "question_id": question_id,
            "csrf_token": self.token(f"/qa/detail/{question_id}")})


class IsolatedClient(FlaskClient):
    """Runs each request in its own app context, as a server does.

    The ``app`` fixture keeps an app context open for the test's own queries; a request pushed
    inside it would share its ``g`` (and Flask-WTF's CSRF token cached there) with every other.
    """

    @classmethod
    def of(cls, app):
        """A client of *app* of this class."""
        app.test_client_class = cls
        return app.test_client()

    def open(self, *args, **kwargs):
        # Ends the test's own transaction, which on MariaDB (REPEATABLE READ) would otherwise
        # keep reading the snapshot taken before the request.
        db.session.commit()
        with self.application.app_context():
            return super().open(*args, **kwargs)
