"""Full-text search: every word, anywhere in a title or text, English and Chinese, newest first."""
import re

import pytest

import db_objects
from blueprints import search
from exts import db
from models import QuestionModel
from tests.backends import mariadb_only
from tests.data import add_questions, make_user, small_recent_tier, statements
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
    # A server without the plugin gets no search table from the migrations (README, Search).
    for statement in db_objects.SEARCH_RECENT_DROP + db_objects.SEARCH_MROONGA_DROP:
        database.execute(statement)
    search.KINDS.clear()
    ask(ann, "Pagination broke 分页", "and the 100% case")
    ask(ann, "Other", "x")
    assert found(client, "paginat 分页") == ["Pagination broke 分页"]
    assert found(client, "100%") == ["Pagination broke 分页"]
    assert found(client, "ginat") == ["Pagination broke 分页"]  # LIKE finds any run
    search.KINDS.clear()


@pytest.fixture
def small_tier(app, database, monkeypatch):
    """Mroonga's recent tier for the newest 10 questions only, its floor read at every search."""
    monkeypatch.setattr(search, "FLOOR_SECONDS", 0)
    with small_recent_tier(database.engine, 10):
        yield
        db.session.remove()  # its transaction would hold off the triggers' DROP


def pages(terms, per_page, full_index=False):
    """[(ids, more)] of every page of *terms*, each reached by the last one's key, as the
    site's Older links walk them; from the full index alone with *full_index*."""
    connection = db.session.connection()
    if full_index:
        search.KINDS[db.engine] = (search.MROONGA, False)
    try:
        found, before = [], None
        while True:
            rows, more = search.search(connection, terms, per_page, before=before)
            found.append(([row.id for row in rows], more))
            if not more:
                return found
            before = rows[-1].id
    finally:
        search.KINDS.pop(db.engine, None)


WORDS = {  # which questions (by their number) have each word
    "common": lambda i: i % 2 == 0,
    "seven": lambda i: i % 7 == 0,
    "oldonly": lambda i: i < 20 and i % 5 == 0,
    "newonly": lambda i: i >= 55,
    "分页": lambda i: i % 3 == 0,
}


@mariadb_only
def test_the_recent_tier_finds_what_the_full_index_finds(app, ann, small_tier):
    # 60 questions, the tier holding the newest 10; a few gone and one changed, so the ids
    # have gaps in the tier and below it.
    questions = add_questions(ann, 60)
    for i, question in enumerate(questions):
        question.title = " ".join([f"Q{i}"] + [w for w, has in WORDS.items() if has(i)])
    db.session.commit()
    for i in (58, 51, 40, 3):
        db.session.delete(questions[i])
    questions[56].title += " seven"
    db.session.commit()
    ids = {i: q.id for i, q in enumerate(questions) if i not in (58, 51, 40, 3)}
    assert db.session.execute(db.text("SELECT COUNT(*) FROM search_recent")).scalar() == 8

    for q in ("common", "seven", "oldonly", "newonly", "分页", "common seven", "seven 分页",
              "zzzmiss"):
        terms = search.Terms(q)
        words = q.split()
        hits = [ids[i] for i in sorted(ids, reverse=True)
                if all(w in questions[i].title.split() for w in words)]
        for per_page in (1, 3, 4, 20):
            tiered = pages(terms, per_page)
            assert tiered == pages(terms, per_page, full_index=True), (q, per_page)
            assert [i for page, _ in tiered for i in page] == hits, (q, per_page)
            # Pages by number read the full index: the same pages.
            for number, page in enumerate(tiered[:3], start=1):
                rows, more = search.search(db.session.connection(), terms, per_page, page=number)
                assert ([row.id for row in rows], more) == page


@mariadb_only
def test_page_one_of_a_common_word_reads_the_recent_tier_alone(app, ann, small_tier):
    add_questions(ann, 30, title="Flask {i}")
    terms = search.Terms("flask")
    with statements(db.engine) as sent:
        rows, more = search.search(db.session.connection(), terms, 4)
        assert more and len(rows) == 4
    searched = [s for s in sent if "MATCH" in s]
    assert len(searched) == 1 and "FROM search_recent" in searched[0]
    # Past the tier (10 questions): page 3 by its key reads the full index alone.
    with statements(db.engine) as sent:
        search.search(db.session.connection(), terms, 4, before=rows[0].id - 12)
    searched = [s for s in sent if "MATCH" in s]
    assert len(searched) == 1 and "FROM search_mroonga" in searched[0]


@mariadb_only
def test_the_recent_tier_follows_every_writer(app, ann, small_tier, database):
    def tier():
        return [row[0] for row in database.execute("SELECT id FROM search_recent ORDER BY id")]

    def tier_text(question_id):
        return database.execute("SELECT title FROM search_recent WHERE id = :id",
                                {"id": question_id})

    def needles():  # search() itself: the page cache would keep a page by the newest id
        db.session.commit()  # a new snapshot, with what the other connection wrote
        rows, _ = search.search(db.session.connection(), search.Terms("needle"), 20)
        return [row.title for row in rows]

    questions = add_questions(ann, 25)
    newest = questions[-1].id
    assert tier() == list(range(newest - 9, newest + 1))
    # A change of the text follows.
    questions[20].title = "Renamed needle"
    db.session.commit()
    assert tier_text(questions[20].id) == [("Renamed needle",)]
    assert needles() == ["Renamed needle"]
    # A deleted question leaves it; one given another id (by hand) follows.
    db.session.delete(questions[24])
    db.session.commit()
    assert questions[24].id not in tier()
    database.execute("UPDATE question SET id = :new WHERE id = :old",
                     {"new": newest, "old": questions[23].id})
    assert tier()[-1] == newest and questions[23].id not in tier()
    database.execute("UPDATE question SET id = :old WHERE id = :new",
                     {"new": newest, "old": questions[23].id})
    assert tier()[-1] == questions[23].id
    # A question inserted by hand with an id below the tier stays out of it, and is found.
    db.session.delete(questions[2])
    db.session.commit()
    database.execute("INSERT INTO question (id, title, content, create_time, author_id) "
                     "VALUES (:id, 'Old needle', 'x', '2026-01-01 00:00:00', :a)",
                     {"id": questions[2].id, "a": ann.id})
    assert questions[2].id not in tier()
    assert needles() == ["Renamed needle", "Old needle"]
    # A rolled-back insert leaves a row in the tier (Mroonga has no transactions), which
    # search never shows.
    with database.engine.connect() as connection:
        connection.execute(db.text(
            "INSERT INTO question (title, content, create_time, author_id) "
            "VALUES ('Lost needle', 'x', '2026-01-01 00:00:00', :a)"), {"a": ann.id})
        connection.rollback()
    assert len(tier()) == 9  # newest - 8 ... newest - 1, and the lost one
    assert needles() == ["Renamed needle", "Old needle"]
    # New questions push the oldest out.
    later = add_questions(ann, 3, title="Later needle {i}")
    assert min(tier()) > later[-1].id - 10
    assert needles() == [
        "Later needle 2", "Later needle 1", "Later needle 0", "Renamed needle", "Old needle"]
