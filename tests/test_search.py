"""Full-text search: every word, anywhere in a title or text, English and Chinese, newest first."""
import re

import pytest

from blueprints import search
from exts import db
from models import QuestionModel
from tests.backends import mariadb_only
from tests.data import add_questions, make_user
from tests.site import text


@pytest.fixture
def ann(app):
    return make_user("ann@example.com")


def ask(author, title, content="x"):
    question = QuestionModel(title=title, content=content, author=author)
    db.session.add(question)
    db.session.commit()
    return question


def titles(page):
    return re.findall(r'class="question-title[^"]*" href="/qa/detail/\d+">(.*?)</a>', page)


def found(client, q, **args):
    response = client.get("/search", query_string={"q": q, **args})
    assert response.status_code == 200, text(response)
    return [re.sub(r"</?mark>", "", title) for title in titles(text(response))]


def found_at(client, path):
    response = client.get(path)
    assert response.status_code == 200, text(response)
    return [re.sub(r"</?mark>", "", title) for title in titles(text(response))]


def test_every_word_anywhere_in_title_or_text(client, ann):
    ask(ann, "Pagination broke after the upgrade", "nothing else")
    ask(ann, "Upgrade notes", "how to paginate, and why it broke")
    ask(ann, "Paginate in Flask", "works fine")
    ask(ann, "Unrelated", "nothing")
    # Not a phrase: the words in any order, one in the title and one in the text.
    assert found(client, "paginat broke") == ["Upgrade notes", "Pagination broke after the upgrade"]
    assert found(client, "BROKE paginate") == ["Upgrade notes"]
    assert found(client, "flask") == ["Paginate in Flask"]
    assert found(client, "paginat?") == ["Paginate in Flask", "Upgrade notes",
                                         "Pagination broke after the upgrade"]


def test_chinese_words_of_one_two_and_more_characters(client, ann):
    ask(ann, "如何在 Flask 里实现分页？", "谢谢")
    ask(ann, "页面很慢", "数据库迁移以后")
    ask(ann, "Mixed", "用 SQLAlchemy 分页")
    ask(ann, "分 页", "two words, not the word 分页 (not in this text)".replace("分页", "X"))
    assert found(client, "分页") == ["Mixed", "如何在 Flask 里实现分页？"]
    assert found(client, "实现分页") == ["如何在 Flask 里实现分页？"]
    assert found(client, "页") == ["分 页", "Mixed", "页面很慢", "如何在 Flask 里实现分页？"]
    assert found(client, "分页 sqlalchemy") == ["Mixed"]
    assert found(client, "数据库 页面") == ["页面很慢"]
    assert found(client, "分页 页面") == []


def test_results_are_newest_first_highlighted_and_paginated(client, ann):
    questions = add_questions(ann, 25, title="关于 Flask 的问题 {i}")
    response = client.get("/search?q=flask")
    page = text(response)
    assert titles(page) == [f"关于 <mark>Flask</mark> 的问题 {i}" for i in range(24, 4, -1)]
    # "Older" carries the last id shown: page 2 starts below it, wherever the index is.
    older = f"/search?q=flask&amp;page=2&amp;before={questions[5].id}"
    assert f'href="{older}"' in page and "Newer" not in page
    second = text(client.get(older.replace("&amp;", "&")))
    assert titles(second) == [f"关于 <mark>Flask</mark> 的问题 {i}" for i in range(4, -1, -1)]
    assert 'href="/search?q=flask"' in second  # "Newer": page 1, without a key or ?page=1
    assert "Older" not in second and "Page 2" in second
    # An address by number alone is the same page.
    assert titles(text(client.get("/search?q=flask&page=2"))) == titles(second)


def pages_by_links(client, path, link):
    """The titles of the page at *path*, then of each page its *link* ("Older", "Newer")
    leads to, in turn, with the addresses."""
    found = []
    while path:
        response = client.get(path)
        assert response.status_code == 200, (path, text(response))
        page = text(response)
        found.append((path, [re.sub(r"</?mark>", "", t) for t in titles(page)]))
        follow = re.search(rf'href="([^"]+)">(?:&larr; )?{link}', page)
        path = follow and follow.group(1).replace("&amp;", "&")
    return found


def test_older_and_newer_links_walk_every_hit_once(app, client, ann):
    # Every third question matches.
    app.config.update(QUESTIONS_PER_PAGE=4, PAGE_CACHE_SIZE=0)
    questions = add_questions(ann, 40, title="Item {i}")
    for question in questions[::3]:
        question.content = "a needle here"
    db.session.commit()
    hits = [f"Item {i}" for i in range(39, -1, -1) if i % 3 == 0]  # 14: 4 pages, the last of 2
    older = pages_by_links(client, "/search?q=needle", "Older")
    assert [rows for _, rows in older] == [hits[0:4], hits[4:8], hits[8:12], hits[12:14]]
    assert [re.sub(r"&before=\d+", "", path) for path, _ in older] == [
        "/search?q=needle", "/search?q=needle&page=2", "/search?q=needle&page=3",
        "/search?q=needle&page=4"]
    # Back from the last page: the same pages, through keys of the other direction.
    newer = pages_by_links(client, older[-1][0], "Newer")
    assert [rows for _, rows in newer] == [rows for _, rows in reversed(older)]
    assert "after=" in newer[1][0] and newer[-1][0] == "/search?q=needle"
    # By number alone, each page is the same.
    for number, (_, rows) in enumerate(older[1:], start=2):
        assert found(client, "needle", page=number) == rows


def test_a_key_keeps_page_two_where_it_was_when_questions_are_added(client, ann):
    questions = add_questions(ann, 30, title="Flask {i}")
    first = text(client.get("/search?q=flask"))
    older = re.search(r'href="([^"]+)">Older', first).group(1).replace("&amp;", "&")
    assert older == f"/search?q=flask&page=2&before={questions[10].id}"
    add_questions(ann, 3, title="Flask later {i}")
    # Page 2 by its key goes on from the row page 1 ended with; by number it has moved.
    assert found_at(client, older) == [f"Flask {i}" for i in range(9, -1, -1)]
    assert found(client, "flask", page=2)[:3] == ["Flask 12", "Flask 11", "Flask 10"]


@pytest.mark.parametrize("query", [
    "page=2&before=abc", "page=2&before=0", "page=2&before=01", "page=2&before=-5",
    "page=2&before=%EF%BC%95", "page=2&before=2147483648", "page=2&before=99999999999999999999",
    "page=2&before=", "page=2&after=x1", "page=2&before=5&after=3", "before=5", "after=3",
    "page=2&before=1",  # a well-formed key with nothing older: a page past the last
])
def test_bad_keys_are_404_not_errors(client, ann, query):
    add_questions(ann, 25, title="Flask {i}")
    response = client.get(f"/search?q=flask&{query}")
    assert response.status_code == 404, text(response)
    assert "There is no such page." in text(response)


def test_a_key_past_the_newest_hit(client, ann):
    questions = add_questions(ann, 25, title="Flask {i}")
    # Older than an id above every question: the newest hits (a key the site never wrote).
    assert found_at(client, "/search?q=flask&page=2&before=2147483647") == [
        f"Flask {i}" for i in range(24, 4, -1)]
    # Newer than the newest, or with fewer than a page newer: page 1 is the page before it.
    for key in (questions[-1].id, questions[10].id, 2147483647):
        response = client.get(f"/search?q=flask&page=2&after={key}")
        assert response.status_code == 302 and response.headers["Location"] == "/search?q=flask"


def test_pages_by_number_stop_at_fifty(client, ann):
    add_questions(ann, 3, title="Flask {i}")
    assert client.get("/search?q=flask&page=50").status_code == 404  # past the last
    response = client.get("/search?q=flask&page=51")
    assert response.status_code == 404
    assert "Search pages by number stop at page 50" in text(response)


def test_the_text_around_a_match_is_shown_marked_and_escaped(client, ann):
    ask(ann, "A title", "<b>bold</b> " + "filler " * 30 + "the needle is here " + "more " * 40)
    page = text(client.get("/search?q=needle"))
    snippet = re.search(r'<div class="small snippet">(.*?)</div>', page).group(1)
    assert "the <mark>needle</mark> is here" in snippet
    assert snippet.startswith("…") and snippet.endswith("…") and "<b>" not in page.split("snippet")[1]


def test_short_latin_words_are_left_out_and_said_to_be(client, ann):
    ask(ann, "Go and Flask", "x")
    page = text(client.get("/search?q=go flask"))
    assert titles(page) == ["Go and <mark>Flask</mark>"]
    assert "Left out, too short to search: go." in page
    response = client.get("/search?q=go")
    assert response.status_code == 400
    assert "Search for words of at least 3 letters" in text(response)


@pytest.mark.parametrize("q", ["' OR 1=1 --", "%%%", "___", "100%", "'; DROP TABLE question; --",
                               '" OR ""="', '"""', "\\\\\\", "a' UNION SELECT password_hash FROM user --",
                               "NEAR(abc def)", "title:abc", "*D- abc", "abc*", "-abc", "(abc"])
def test_sql_and_query_syntax_in_a_search_is_just_text(client, ann, q):
    add_questions(ann, 3)
    ask(ann, "Rate: 100% done_now", "x")
    response = client.get("/search", query_string={"q": q})
    assert response.status_code in (200, 400)
    page = text(response)
    # Wildcards, quotes and operators match only themselves: "Question N" never matches.
    assert "Question 0" not in page and "scrypt" not in page
    assert ("Rate:" in page) == (q == "100%")
    assert QuestionModel.query.count() == 4


def test_empty_too_long_and_missed_searches(client):
    page = text(client.get("/search?q="))
    assert "Type a word to search" in page
    response = client.get("/search", query_string={"q": "x" * 101})
    assert response.status_code == 400
    assert "Search for at most 100 characters." in text(response)
    assert "No questions match" in text(client.get("/search?q=nothing-here"))


def test_the_index_follows_new_questions_from_any_writer(client, ann, database):
    ask(ann, "Written by the site", "x")
    # A row written behind the app's back (a console, a script): the triggers index it too.
    database.execute("INSERT INTO question (title, content, create_time, author_id) "
                     "VALUES ('Written by hand 手写', 'x', '2026-01-01 00:00:00', :a)", {"a": ann.id})
    assert found(client, "written") == ["Written by hand 手写", "Written by the site"]
    assert found(client, "手写") == ["Written by hand 手写"]


@mariadb_only
def test_without_mroonga_search_falls_back_to_like(client, ann, database):
    # A server without the plugin gets no search table from the migration (README, Search).
    for trigger in ("search_question_insert", "search_question_update", "search_question_delete"):
        database.execute(f"DROP TRIGGER {trigger}")
    database.execute("DROP TABLE search_mroonga")
    search.KINDS.clear()
    ask(ann, "Pagination broke 分页", "and the 100% case")
    ask(ann, "Other", "x")
    assert found(client, "paginat 分页") == ["Pagination broke 分页"]
    assert found(client, "100%") == ["Pagination broke 分页"]
    assert found(client, "ginat") == ["Pagination broke 分页"]  # LIKE finds any run
    search.KINDS.clear()
