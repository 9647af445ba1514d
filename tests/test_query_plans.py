"""Every page reads a bounded number of rows: EXPLAIN on SQLite and MariaDB, whatever the page."""
import random
import re

import pytest

from cli.seed import seed
from exts import db
from tests.backends import mariadb_only
from tests.data import add_questions, make_user, small_recent_tier, statements
from tests.site import IsolatedClient, text

# A few hundred rows: enough for both planners to prefer an index to a scan where one helps.
QUESTIONS, ANSWERS = 400, 2000


@pytest.fixture
def client(make_app):
    app = make_app(PAGE_CACHE_SIZE=0)  # every page rendered, every statement run
    client = IsolatedClient.of(app)
    # A process's first request also reads the migration revision (migration_safety/status.py).
    assert client.get("/healthz").status_code == 200
    seed(10, QUESTIONS, ANSWERS, random.Random(1))
    return client


def plans(client, path, statements_too=False):
    """The plan of each query the page at *path* runs, as the database explains it (with
    *statements_too*, (statement, plan) pairs)."""
    with statements(db.engine, with_parameters=True) as sent:
        response = client.get(path)
        assert response.status_code == 200, text(response)
    # Which search index MariaDB has is read once per process, not per page.
    sent = [(s, p) for s, p in sent
            if s.lstrip().upper().startswith("SELECT") and "information_schema" not in s]
    assert sent
    found = []
    with db.engine.connect() as conn:
        for statement, parameters in sent:
            if conn.dialect.name == "sqlite":
                rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                found.append([row.detail for row in rows])
            else:
                rows = conn.exec_driver_sql("EXPLAIN " + statement.replace("%%", "%"),
                                            parameters).mappings()
                found.append([dict(row) for row in rows])
    if statements_too:
        return [(statement, plan) for (statement, _), plan in zip(sent, found)]
    return found


def unbounded(plan, dialect):
    """The steps of *plan* that read a whole table or sort: [] for a bounded plan."""
    if dialect == "sqlite":
        # SCAN over a subquery's few rows (hit: a page of ids) or a constant is bounded; the
        # FTS5 table is searched through its own index (INDEX 0:M...).
        allowed = re.compile(r"SCAN (CONSTANT ROW|hit$|search_fts VIRTUAL TABLE INDEX \d+:M)")
        return [step for step in plan if "TEMP B-TREE" in step
                or (step.startswith("SCAN") and not allowed.match(step))]
    return [step for step in plan
            if (step["type"] in ("ALL", "index") and not str(step["table"]).startswith("<derived"))
            or "temporary" in (step["Extra"] or "")
            # Mroonga sorts a full-text match itself, stopping at the LIMIT, though EXPLAIN
            # says filesort (test_mroonga_orders_and_limits_inside_the_index below).
            or ("filesort" in (step["Extra"] or "")
                and step["table"] not in ("search_mroonga", "search_recent"))]




PAGES = ["/", "/?page=2", "/?page=19", "/search?q=Flask", "/search?q=flask&page=2",
         "/search?q=flask&page=2&before=300", "/search?q=flask&page=2&after=100",
         "/search?q=%E5%88%86%E9%A1%B5&page=3&before=300",
         "/search?q=%E5%88%86%E9%A1%B5+%E5%AE%9E%E7%8E%B0&page=3&after=100",
         "/search?q=%E5%88%86%E9%A1%B5", "/search?q=%E9%A1%B5", "/search?q=paginate+Flask",
         "/search?q=%E5%88%86%E9%A1%B5+%E5%AE%9E%E7%8E%B0", "/search?q=%E5%88%86%E9%A1%B5+flask",
         "/search?q=zzzz-no-match", "/search?q=%E6%B2%A1%E6%9C%89"]


@pytest.mark.parametrize("path", PAGES)
def test_list_and_search_pages_walk_an_index_and_stop(client, path):
    dialect = db.engine.dialect.name
    for plan in plans(client, path):
        assert unbounded(plan, dialect) == [], plan


def test_answer_pages_walk_the_question_answer_index(client):
    (question,) = add_questions(make_user("asker@example.com"), 1, answers_each=45)
    question_id = question.id
    dialect = db.engine.dialect.name
    for path in (f"/qa/detail/{question_id}", f"/qa/detail/{question_id}?page=2"):
        answer_plans = [plan for plan in plans(client, path) if "answer" in str(plan)]
        assert answer_plans
        for plan in answer_plans:
            assert unbounded(plan, dialect) == [], plan
            assert "ix_answer_question_id" in str(plan), plan


def test_the_question_list_starts_from_question_not_user(client):
    # MariaDB planned the list from `user`, joining every question (issue 10): first table read
    # must be question, through its seq index.
    (plan,) = [p for p in plans(client, "/?page=3") if len(p) > 1]
    first = plan[0]
    if db.engine.dialect.name == "sqlite":
        assert first.startswith("SEARCH question USING INDEX ix_question_seq"), plan
    else:
        assert (first["table"], first["key"]) == ("question", "ix_question_seq"), plan


@mariadb_only
def test_mroonga_orders_and_limits_inside_the_index(client):
    def fast_order_limits():
        return int(db.session.execute(db.text(
            "SHOW GLOBAL STATUS LIKE 'Mroonga_fast_order_limit'")).one()[1])

    # Page 1, a page by number, and pages by their seek keys either way.
    for path in ("/search?q=Flask", "/search?q=Flask&page=2", "/search?q=Flask&page=2&before=300",
                 "/search?q=Flask&page=2&after=100"):
        before = fast_order_limits()
        assert client.get(path).status_code == 200
        assert fast_order_limits() > before, path


@mariadb_only
def test_the_recent_tier_then_the_full_index_below_it(client, database):
    def fast_order_limits():
        return int(db.session.execute(db.text(
            "SHOW GLOBAL STATUS LIKE 'Mroonga_fast_order_limit'")).one()[1])

    def searched(path):
        """The search statements of *path*, each with its plan."""
        return [(re.search(r"FROM (search_\w+)", sql).group(1), plan)
                for sql, plan in plans(client, path, statements_too=True) if "MATCH" in sql]

    # At most 400 questions: all in the tier, which answers page 1 alone.
    (only,) = searched("/search?q=Flask")
    assert only[0] == "search_recent"
    db.session.remove()  # its transaction would hold off the triggers' DROP
    with small_recent_tier(database.engine, 10):
        # 10 questions hold less than a page of hits: the rest come from the full index,
        # below the tier's last hit, both in Mroonga's order and limit.
        before = fast_order_limits()
        found = searched("/search?q=Flask")
        assert [table for table, _ in found] == ["search_recent", "search_mroonga"]
        for _, plan in found:
            assert unbounded(plan, "mariadb") == [], plan
        assert fast_order_limits() >= before + 2
        # A key below the tier: the full index alone; a page by number: the full index.
        for path in ("/search?q=Flask&page=2&before=300", "/search?q=Flask&page=2"):
            assert [table for table, _ in searched(path)] == ["search_mroonga"], path
        db.session.remove()
