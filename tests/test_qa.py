"""Ask, answer, read and search questions; constant SQL per page; the anonymous page cache."""
import re
import time
from datetime import timedelta

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from blueprints import search
from exts import db
from models import AnswerModel, QuestionModel, utcnow
from tests.data import add_questions, another_worker, count_queries, make_user
from tests.site import csrf_token, text


@pytest.fixture(autouse=True)
def first_request_done(client):
    """A process's first request also reads the migration revision (migration_safety/status.py):
    serve it here, uncached, so the tests count only the queries of the pages themselves. The
    first search on MariaDB also reads which search index the database has (search.py)."""
    assert client.get("/healthz").status_code == 200
    search.index_kind(db.session.connection())


@pytest.fixture
def ann(app):
    return make_user("ann@example.com")


# --- asking ---------------------------------------------------------------------------------

def test_ask_a_question_in_chinese_with_emoji(site, client, app):
    site.signed_up(username="小明")
    page = text(client.get("/qa/public"))
    assert 'name="title"' in page and 'name="content"' in page and 'name="csrf_token"' in page
    response = site.ask("如何使用 Flask 蓝图？🚀", "我想把 auth 和 qa 分开。\n第二行 😀")
    assert response.status_code == 302
    question = QuestionModel.query.one()
    assert response.headers["Location"] == f"/qa/detail/{question.id}"
    assert (question.title, question.content) == ("如何使用 Flask 蓝图？🚀", "我想把 auth 和 qa 分开。\n第二行 😀")
    page = text(client.get(response.headers["Location"]))
    assert "Your question is posted." in page
    assert "如何使用 Flask 蓝图？🚀" in page and "我想把 auth 和 qa 分开。\n第二行 😀" in page
    assert "小明" in page
    assert "如何使用 Flask 蓝图？🚀" in text(client.get("/"))


@pytest.mark.parametrize("title, content, message", [
    ("", "body", "Give your question a title."),
    ("   ", "body", "Give your question a title."),
    ("t" * 201, "body", "A title has at most 200 characters."),
    ("Title", "", "Describe your question."),
    ("Title", "x" * 10_001, "At most 10,000 characters."),
])
def test_ask_refuses_bad_input(site, app, title, content, message):
    site.signed_up()
    response = site.ask(title, content)
    assert response.status_code == 400
    assert message in text(response)
    assert QuestionModel.query.count() == 0


def test_title_of_exactly_200_characters_and_10000_emoji_fit(site, app):
    site.signed_up()
    assert site.ask("标" * 200, "🚀" * 10_000).status_code == 302
    question = QuestionModel.query.one()
    assert question.title == "标" * 200 and question.content == "🚀" * 10_000


def test_ask_needs_login_and_comes_back(site, client):
    response = client.post("/qa/public", data={"title": "t", "content": "c",
                                               "csrf_token": site.token()})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")
    assert QuestionModel.query.count() == 0


XSS = ['<script>alert("x")</script>', '<img src=x onerror=alert(1)>', '"><svg onload=alert(1)>']


@pytest.mark.parametrize("payload", XSS)
def test_xss_is_shown_escaped_everywhere(site, client, app, payload):
    site.signed_up(username=payload)
    question_id = int(site.ask(payload, payload).headers["Location"].rsplit("/", 1)[1])
    site.answer(question_id, payload)
    escaped = payload.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&#34;")
    for path in ("/", f"/qa/detail/{question_id}", "/search?q=alert"):
        page = text(client.get(path))
        assert payload not in page, path
        assert escaped in page, path


# --- a question and its answers -----------------------------------------------------------

def test_detail_shows_question_and_answers_newest_first(client, ann):
    (question,) = add_questions(ann, 1, answers_each=3)
    page = text(client.get(f"/qa/detail/{question.id}"))
    assert "Question 0" in page and "Body 0" in page and "3 answers" in page
    assert page.index("Answer 2 to 0") < page.index("Answer 1 to 0") < page.index("Answer 0 to 0")
    # Logged out: an invitation to log in instead of a form.
    assert "to answer this question" in page and 'name="content"' not in page


@pytest.mark.parametrize("path", ["/qa/detail/999", "/qa/detail/0", "/qa/detail/abc",
                                  "/qa/detail/-1", "/qa/detail/99999999999999999999999"])
def test_unknown_question_is_a_styled_404(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Not Found" in text(response) and "Back to the questions" in text(response)


def test_answer_a_question(site, client, app, ann):
    (question,) = add_questions(ann, 1)
    site.signed_up("bob@example.com", username="鲍勃")
    page = text(client.get(f"/qa/detail/{question.id}"))
    assert 'name="content"' in page and f'name="question_id" type="hidden" value="{question.id}"' in page
    response = site.answer(question.id, "用 paginate 😀")
    assert response.status_code == 302 and response.headers["Location"] == f"/qa/detail/{question.id}"
    page = text(client.get(response.headers["Location"]))
    assert "Your answer is posted." in page and "用 paginate 😀" in page and "1 answer<" in page
    answer = AnswerModel.query.one()
    assert (answer.content, answer.author.username, answer.question_id) == ("用 paginate 😀", "鲍勃", question.id)


@pytest.mark.parametrize("content, message", [
    ("", "Write your answer first."),
    ("  \n ", "Write your answer first."),
    ("x" * 10_001, "At most 10,000 characters."),
])
def test_answer_refuses_bad_content(site, app, ann, content, message):
    (question,) = add_questions(ann, 1)
    site.signed_up("bob@example.com")
    response = site.answer(question.id, content)
    assert response.status_code == 400
    page = text(response)
    assert message in page and "Question 0" in page
    assert AnswerModel.query.count() == 0


@pytest.mark.parametrize("question_id", ["999", "abc", "", "-5", "99999999999999999999", None])
def test_answer_to_unknown_question_is_a_404(site, client, app, ann, question_id):
    site.signed_up("bob@example.com")
    data = {"content": "hello", "csrf_token": site.token()}
    if question_id is not None:
        data["question_id"] = question_id
    response = client.post("/answer/public", data=data)
    assert response.status_code == 404
    assert "There is no such question to answer." in text(response)
    assert AnswerModel.query.count() == 0


def test_answer_needs_login(site, client, app, ann):
    (question,) = add_questions(ann, 1)
    response = client.post("/answer/public", data={"content": "hi", "question_id": question.id,
                                                    "csrf_token": site.token()})
    assert response.status_code == 302 and response.headers["Location"].startswith("/auth/login")
    assert AnswerModel.query.count() == 0


def token_made_hours_ago(client, app, hours):
    """A CSRF token of *client*'s session as its page would have carried it *hours* ago."""
    class Earlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time() - hours * 3600)

    with client.session_transaction() as session:
        raw = session["csrf_token"]
    serializer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=Earlier)
    return serializer.dumps(raw)


LONG_ANSWER = "An answer typed over a long afternoon.\n" * 50


def test_an_answer_sent_with_an_expired_token_comes_back_with_a_fresh_one(site, client, app,
                                                                           ann):
    (question,) = add_questions(ann, 1)
    site.signed_up("bob@example.com")
    client.get(f"/qa/detail/{question.id}")
    stale = token_made_hours_ago(client, app, 1.1)
    response = client.post("/answer/public", data={"content": LONG_ANSWER,
                                                    "question_id": question.id,
                                                    "csrf_token": stale})
    assert response.status_code == 400
    page = text(response)
    assert "its security token expired" in page
    # The text is in the form again, with a token that works.
    assert LONG_ANSWER.strip().replace("\n", "&#10;")[:60] in page.replace("\n", "&#10;")
    assert AnswerModel.query.count() == 0
    fresh = csrf_token(page)
    assert fresh != stale
    again = client.post("/answer/public", data={"content": LONG_ANSWER,
                                                 "question_id": question.id, "csrf_token": fresh})
    assert again.status_code == 302
    assert AnswerModel.query.one().content == LONG_ANSWER.strip()


def test_a_question_sent_with_an_expired_token_comes_back_with_a_fresh_one(site, client, app):
    site.signed_up()
    client.get("/qa/public")
    stale = token_made_hours_ago(client, app, 2)
    response = client.post("/qa/public", data={"title": "Kept title", "content": LONG_ANSWER,
                                               "csrf_token": stale})
    assert response.status_code == 400
    page = text(response)
    assert "its security token expired" in page and 'value="Kept title"' in page
    assert "An answer typed over a long afternoon." in page
    assert QuestionModel.query.count() == 0
    again = client.post("/qa/public", data={"title": "Kept title", "content": LONG_ANSWER,
                                            "csrf_token": csrf_token(page)})
    assert again.status_code == 302 and QuestionModel.query.one().title == "Kept title"


@pytest.mark.parametrize("token", [None, "forged"])
def test_a_post_without_a_valid_token_is_refused_and_stores_nothing(site, client, app, ann,
                                                                    token):
    (question,) = add_questions(ann, 1)
    site.signed_up("bob@example.com")
    data = {"content": "hi", "question_id": question.id}
    if token:
        data["csrf_token"] = token
    response = client.post("/answer/public", data=data)
    assert response.status_code == 400
    assert ("The CSRF token is missing." if token is None else "The CSRF token is invalid.") \
        in text(response)
    response = client.post("/qa/public", data={"title": "t", "content": "c", **(
        {"csrf_token": token} if token else {})})
    assert response.status_code == 400
    assert AnswerModel.query.count() == 0 and QuestionModel.query.count() == 1  # ann's


def test_answers_are_paginated(client, app, ann):
    (question,) = add_questions(ann, 1, answers_each=25)
    first = text(client.get(f"/qa/detail/{question.id}"))
    assert "25 answers" in first and "Answer 24 to 0" in first and "Answer 4 to 0" not in first
    assert f'href="/qa/detail/{question.id}?page=2"' in first
    second = text(client.get(f"/qa/detail/{question.id}?page=2"))
    assert "Answer 4 to 0" in second and "Answer 5 to 0" not in second


# --- the list and pages ----------------------------------------------------------------------

def test_index_lists_questions_newest_first_with_author_and_answer_count(client, ann):
    older = QuestionModel(title="Older question", content="x", author=ann,
                          create_time=utcnow() - timedelta(hours=1))
    newer = QuestionModel(title="Newer <b>question</b>", content="y", author=ann)
    db.session.add_all([older, newer])
    db.session.add_all([AnswerModel(content=str(i), question=older, author=ann) for i in range(3)])
    db.session.commit()

    page = text(client.get("/"))
    assert page.index("Newer &lt;b&gt;question&lt;/b&gt;") < page.index("Older question")
    assert "3 answers" in page and "0 answers" in page
    assert "by <bdi>ann</bdi>" in page


def test_index_without_questions_says_so(client):
    response = client.get("/")
    assert response.status_code == 200
    assert "No questions yet." in text(response)


# Issue 11, finding 14: a page past the last, or a second address of a page, is not a page.
@pytest.mark.parametrize("path", ["/?page=9999", "/?page=2", "/search?q=Question&page=9999",
                                  "/search?q=Question&page=2"])
def test_pages_past_the_last_are_404(client, ann, path):
    add_questions(ann, 20)  # exactly one page
    response = client.get(path)
    assert response.status_code == 404
    assert "There is no such page." in text(response)
    assert "No questions" not in text(response)


def test_answer_pages_past_the_last_are_404(client, ann):
    (question,) = add_questions(ann, 1, answers_each=20)
    assert client.get(f"/qa/detail/{question.id}").status_code == 200
    assert client.get(f"/qa/detail/{question.id}?page=2").status_code == 404
    (empty,) = add_questions(ann, 1)
    assert "No answers yet." in text(client.get(f"/qa/detail/{empty.id}"))
    assert client.get(f"/qa/detail/{empty.id}?page=2").status_code == 404


@pytest.mark.parametrize("path", ["/qa/detail/01", "/qa/detail/\uff11", "/qa/detail/+1",
                                  "/qa/detail/1.0", "/qa/detail/\u0661"])
def test_a_question_has_one_address(client, ann, path):
    (question,) = add_questions(ann, 1)
    assert question.id == 1
    assert client.get("/qa/detail/1").status_code == 200
    response = client.get(path.encode().decode("unicode_escape"))
    assert response.status_code == 404


@pytest.mark.parametrize("path, location", [
    ("/?page=1", "/"),
    ("/search?q=Flask&page=1", "/search?q=Flask"),
    ("/search?page=1&q=%E5%88%86%E9%A1%B5", "/search?q=%E5%88%86%E9%A1%B5"),
])
def test_page_one_redirects_to_the_address_without_it(client, ann, path, location):
    add_questions(ann, 1)
    response = client.get(path)
    assert response.status_code == 301 and response.headers["Location"] == location
    mounted = client.get(path, environ_overrides={"SCRIPT_NAME": "/forum"})
    assert mounted.headers["Location"] == "/forum" + location


def test_index_is_paginated_twenty_a_page(client, ann):
    add_questions(ann, 45)
    first = text(client.get("/"))
    titles = re.findall(r'class="question-title[^"]*" href="/qa/detail/\d+">([^<]+)<', first)
    assert titles == [f"Question {i}" for i in range(44, 24, -1)]
    assert 'href="/?page=2"' in first and "Newer" not in first
    second = text(client.get("/?page=2"))
    assert 'href="/"' in second and 'href="/?page=1"' not in second  # "Newer": page 1's address
    third = text(client.get("/?page=3"))
    assert re.findall(r'href="/qa/detail/\d+">([^<]+)<', third) == [f"Question {i}" for i in range(4, -1, -1)]
    assert "Older" not in third and 'href="/?page=2"' in third


@pytest.mark.parametrize("page", ["0", "-3", "abc", "99999999999999999999999", "1e9", "02",
                                  "\uff12", "", "2 "])
def test_odd_page_numbers_are_404_not_errors(client, ann, page):
    add_questions(ann, 45)
    response = client.get("/", query_string={"page": page.encode().decode("unicode_escape")})
    assert response.status_code == 404
    assert "There is no such page." in text(response)


# Search: tests/test_search.py.


# --- constant SQL, whatever the page size -------------------------------------------------

@pytest.mark.parametrize("logged_in", [False, True], ids=["anonymous", "logged-in"])
def test_pages_run_a_constant_number_of_queries(site, client, app, ann, logged_in):
    if logged_in:
        site.signed_up("bob@example.com")
    app.config["PAGE_CACHE_SIZE"] = 0  # every request renders (the cache only lowers counts)
    counts = {}
    for size in (1, 20):
        AnswerModel.query.delete()
        QuestionModel.query.delete()
        db.session.commit()
        questions = add_questions(ann, size, answers_each=size, title="Needle {i}")
        target = questions[0].id
        counts[size] = [count_queries(client, path) for path in
                        ("/", f"/qa/detail/{target}", "/search?q=Needle")]
    assert counts[1] == counts[20]
    assert max(counts[20]) <= 4


# --- the page cache for anonymous visitors ---------------------------------------------------

def add_in_another_worker(app, author_id, title):
    with another_worker(app):
        db.session.add(QuestionModel(title=title, content="x", author_id=author_id))
        db.session.commit()


def test_cached_page_costs_one_query_and_sees_changes_from_other_workers(client, app, ann):
    add_questions(ann, 2)
    assert count_queries(client, "/") == 2  # data version, then the page
    assert count_queries(client, "/") == 1  # data version only: the page is reused
    add_in_another_worker(app, ann.id, "Fresh from worker two")
    assert "Fresh from worker two" in text(client.get("/"))


def test_data_version_is_read_at_most_once_per_interval(client, app, ann, monkeypatch):
    import blueprints.pagecache as pagecache

    app.config["PAGE_CACHE_CHECK_SECONDS"] = 1  # as deployed
    clock = [1000.0]
    monkeypatch.setattr(pagecache, "monotonic", lambda: clock[0])
    add_questions(ann, 1)
    assert count_queries(client, "/") == 2
    assert count_queries(client, "/") == 0
    add_in_another_worker(app, ann.id, "Fresh from worker two")
    # Within the interval an anonymous visitor may still get the page from before.
    assert "Fresh from worker two" not in text(client.get("/"))
    clock[0] += 1
    assert "Fresh from worker two" in text(client.get("/"))


def test_cached_pages_are_not_served_to_logged_in_users_or_with_flashes(site, client, app, ann):
    add_questions(ann, 1)
    text(client.get("/"))  # cached for anonymous visitors
    site.signed_up("bob@example.com", username="bob")
    page = text(client.get("/"))
    assert "bob" in page and "Log out" in page
    site.logout()
    page = text(client.get("/"))
    assert "You are logged out." in page
    assert "You are logged out." not in text(client.get("/"))


def test_visitors_who_opened_a_form_still_get_cached_pages(site, client, app, ann):
    add_questions(ann, 1)
    assert count_queries(client, "/") == 2
    site.token("/auth/login")  # leaves a CSRF token in the session
    assert count_queries(client, "/") == 1
    page = text(client.get("/"))
    assert "Log in" in page and 'name="csrf_token"' not in page


def test_cached_pages_expire(client, app, ann, monkeypatch):
    import blueprints.pagecache as pagecache

    add_questions(ann, 1)
    clock = [1000.0]
    monkeypatch.setattr(pagecache, "monotonic", lambda: clock[0])
    assert count_queries(client, "/") == 2
    assert count_queries(client, "/") == 1
    clock[0] += app.config["PAGE_CACHE_SECONDS"] + 1
    assert count_queries(client, "/") == 2


@pytest.fixture
def hits_in_front(app, monkeypatch):
    """The deployed check interval on a clock the test moves, and a count of the requests
    that reached Flask (a page answered in front of the app never does)."""
    import blueprints.pagecache as pagecache

    app.config["PAGE_CACHE_CHECK_SECONDS"] = 1
    clock = [1000.0]
    monkeypatch.setattr(pagecache, "monotonic", lambda: clock[0])
    reached = []
    front = app.wsgi_app  # pagecache.AnonymousHits, the outermost layer
    inner = front.wsgi_app

    def counted(environ, start_response):
        reached.append(environ["PATH_INFO"])
        return inner(environ, start_response)

    monkeypatch.setattr(front, "wsgi_app", counted)
    return clock, reached


def test_stored_page_is_answered_before_flask_with_the_same_headers(client, app, ann,
                                                                      hits_in_front):
    clock, reached = hits_in_front
    add_questions(ann, 1, title="Stored question")
    rendered = client.get("/?q=1", headers={"X-Request-ID": "from-proxy-1"})
    assert len(reached) == 1
    stored = client.get("/?q=1", headers={"X-Request-ID": "from-proxy-2"})
    assert len(reached) == 1  # answered in front of the app
    assert stored.get_data() == rendered.get_data()
    assert "Stored question" in text(stored)

    def others(response):
        return sorted((k, v) for k, v in response.headers.items() if k != "X-Request-ID")
    assert others(stored) == others(rendered)
    assert dict(others(stored))["Vary"] == "Cookie"
    assert "frame-ancestors 'none'" in stored.headers["Content-Security-Policy"]
    assert (rendered.headers["X-Request-ID"], stored.headers["X-Request-ID"]) == (
        "from-proxy-1", "from-proxy-2")
    # A made-up id is replaced, as in the app.
    forged = client.get("/?q=1", headers={"X-Request-ID": "bad id <x>"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])
    assert len(reached) == 1
    # Once the data version is due for a check, the request goes through the app again.
    clock[0] += 1
    assert "Stored question" in text(client.get("/?q=1"))
    assert len(reached) == 2


def test_stored_page_in_front_writes_a_request_log_line(client, app, ann, hits_in_front, caplog):
    clock, reached = hits_in_front
    add_questions(ann, 1)
    path = f"/qa/detail/{QuestionModel.query.one().id}"
    with caplog.at_level("INFO", logger="qa.request"):
        client.get(path)
        caplog.clear()
        response = client.get(path)
    assert reached == [path]
    (record,) = [r for r in caplog.records if r.name == "qa.request"]
    assert (record.method, record.path, record.status) == ("GET", path, 200)
    assert re.fullmatch(rf"GET {path} 200 \d+\.\d ms", record.getMessage())
    assert record.request_id == response.headers["X-Request-ID"]


def test_requests_with_a_session_cookie_are_never_answered_in_front(site, client, app, ann,
                                                                     hits_in_front):
    clock, reached = hits_in_front
    add_questions(ann, 1)
    client.get("/")
    site.signed_up("bob@example.com", username="bob")
    before = len(reached)
    page = text(client.get("/"))
    assert len(reached) == before + 1
    assert "bob" in page and "Log out" in page
    # A visitor whose session only holds a CSRF token goes through the app, and gets the page.
    site.logout()
    client.get("/")  # the flash
    site.token("/auth/login")
    before = len(reached)
    page = text(client.get("/"))
    assert len(reached) == before + 1
    assert "Log in" in page and "You are logged out." not in page


def test_posts_are_never_answered_in_front(client, app, ann, hits_in_front):
    clock, reached = hits_in_front
    add_questions(ann, 1)
    client.get("/")
    assert client.post("/").status_code == 405
    assert len(reached) == 2


def test_question_links_follow_the_mount_point(client, ann):
    (question,) = add_questions(ann, 1)
    assert f'href="/qa/detail/{question.id}"' in text(client.get("/"))
    mounted = text(client.get("/", environ_overrides={"SCRIPT_NAME": "/forum"}))
    assert f'href="/forum/qa/detail/{question.id}"' in mounted
