"""Usernames cannot impersonate or hide; names and titles show what they say."""
import pytest

from models import QuestionModel, UserModel
from tests.data import make_user
from tests.site import text

ZWSP = "\u200b"
RLO = "\u202e"


@pytest.mark.parametrize("name", ["bob", "Bob", "ＢＯＢ", f"b{ZWSP}ob", "BOB"])
def test_a_username_taken_as_people_read_it_is_refused(site, app, name):
    make_user("bob@example.com", username="bob")
    response = site.register("other@example.com", username=name)
    assert response.status_code == 400
    assert "This username is taken: choose another." in text(response)
    assert UserModel.query.count() == 1


def test_names_that_only_look_alike_to_a_careless_eye_are_distinct(site, app):
    make_user("jose@example.com", username="jose")
    assert site.register("other@example.com", username="josé").status_code == 302
    assert sorted(u.username for u in UserModel.query) == ["jose", "josé"]


@pytest.mark.parametrize("name, message", [
    (ZWSP * 3, "A username needs visible characters."),
    ("\u3164\u3164", "A username needs visible characters."),
    (f"{RLO}bob", "A username cannot contain control or text-direction characters."),
    ("bo\u2066b", "A username cannot contain control or text-direction characters."),
    ("bo\x07b", "A username cannot contain control or text-direction characters."),
])
def test_invisible_or_reordering_usernames_are_refused(site, app, name, message):
    response = site.register("ann@example.com", username=name)
    assert response.status_code == 400
    assert message in text(response)
    assert UserModel.query.count() == 0


@pytest.mark.parametrize("title, message", [
    (ZWSP, "A title needs visible characters."),
    (f"{ZWSP}\u2060{ZWSP}", "A title needs visible characters."),
    (f"Price {RLO}gnp.exe", "A title cannot contain control or text-direction characters."),
])
def test_invisible_or_reordering_titles_are_refused(site, app, title, message):
    site.signed_up()
    response = site.ask(title=title)
    assert response.status_code == 400
    assert message in text(response)
    assert QuestionModel.query.count() == 0


def test_names_in_other_scripts_and_emoji_are_welcome(site, app):
    site.signed_up(username="小明 👩\u200d💻")
    assert site.ask(title="مرحبا: how do I paginate?").status_code == 302


def test_author_names_are_isolated_from_the_text_around_them(site, client, app):
    # A name from before the rules (or any right-to-left name) cannot reorder the page.
    author = make_user("old@example.com", username=f"{RLO}evil")
    site.signed_up()
    question = QuestionModel(title="Why?", content="Because.", author=author)
    from exts import db

    db.session.add(question)
    db.session.commit()
    assert site.answer(question.id).status_code == 302
    assert f"by <bdi>{RLO}evil</bdi>" in text(client.get("/"))
    detail = text(client.get(f"/qa/detail/{question.id}"))
    assert f'asked by <bdi class="author">{RLO}evil</bdi>' in detail
    assert '<bdi class="author fw-semibold">ann</bdi>' in detail


BEFORE_UNIQUE_NAMES = "8122a53add8f"


def test_the_migration_keeps_every_user_and_renames_later_duplicates(project):
    """A database that already holds "bob", "Bob", "ＢＯＢ" and a blank name upgrades: no user
    is lost, the oldest account keeps each name, the others are renamed and the log says so."""
    project.manage("db", "upgrade", BEFORE_UNIQUE_NAMES)
    names = ["bob", "ann", "Bob", ZWSP * 2, "ＢＯＢ", "bob-3", ZWSP]
    for number, name in enumerate(names, 1):
        project.database.execute(
            "INSERT INTO user (id, username, email, password_hash, join_time) "
            "VALUES (:id, :name, :email, 'x', '2026-01-01 00:00:00')",
            {"id": number, "name": name, "email": f"u{number}@example.com"})
    project.database.execute(
        "INSERT INTO question (id, title, content, create_time, author_id) "
        "VALUES (1, 'Mine?', 'Still mine.', '2026-01-02 00:00:00', 5)")

    result = project.manage("db", "upgrade")

    rows = project.database.rows("user")
    assert [(r["id"], r["email"], r["username"], r["username_key"]) for r in rows] == [
        (1, "u1@example.com", "bob", "bob"),
        (2, "u2@example.com", "ann", "ann"),
        (3, "u3@example.com", "Bob-3-2", "bob-3-2"),  # "Bob-3" is another user's name
        (4, "u4@example.com", "user-4", "user-4"),
        (5, "u5@example.com", "ＢＯＢ-5", "bob-5"),
        (6, "u6@example.com", "bob-3", "bob-3"),
        (7, "u7@example.com", "user-7", "user-7"),
    ]
    assert project.database.execute("SELECT author_id FROM question") == [(5,)]
    log = result.stdout + result.stderr
    assert "user 3: username 'Bob' renamed to 'Bob-3-2' (the same name as user 1's 'bob')" in log
    assert "user 4: username '\\u200b\\u200b' renamed to 'user-4' (a name that shows nothing)" in log
    # The key is unique in the database itself, whatever writes to it.
    with pytest.raises(Exception, match="(?i)unique|duplicate"):
        project.database.execute(
            "INSERT INTO user (username, username_key, email, password_hash, join_time) "
            "VALUES ('BOB', 'bob', 'u8@example.com', 'x', '2026-01-01 00:00:00')")
    assert len(project.database.rows("user")) == 7
