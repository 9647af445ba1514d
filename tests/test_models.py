"""Models: hashed passwords, per-row timestamps, answer counts, and the question list page."""
from datetime import datetime, timedelta

from sqlalchemy import event

from exts import db
from models import AnswerModel, QuestionModel, UserModel, utcnow


def make_user(email="ann@example.com", password="correct horse battery"):
    user = UserModel(username=email.split("@")[0], email=email)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def test_password_is_hashed_with_scrypt(app):
    user = make_user()
    assert user.password_hash.startswith("scrypt:")
    assert "correct horse" not in user.password_hash
    assert user.check_password("correct horse battery")
    assert not user.check_password("wrong")


def test_timestamps_are_taken_per_row(app, monkeypatch):
    """The default is called for each row, not evaluated once at import."""
    import models

    clock = iter([datetime(2026, 1, 1, 8, 0), datetime(2026, 1, 2, 9, 30)])

    class FakeDatetime(datetime):
        @classmethod
        def now(cls, tz=None):
            return next(clock).replace(tzinfo=tz)

    monkeypatch.setattr(models, "datetime", FakeDatetime)
    first = make_user("a@example.com")
    second = make_user("b@example.com")
    db.session.expire_all()
    assert (first.join_time, second.join_time) == (datetime(2026, 1, 1, 8, 0),
                                                   datetime(2026, 1, 2, 9, 30))


def test_repr_names_the_row(app):
    user = make_user()
    question = QuestionModel(title="Why?", content="Because.", author=user)
    db.session.add(question)
    db.session.commit()
    assert repr(user) == f"<UserModel {user.id} 'ann@example.com'>"
    assert repr(question) == f"<QuestionModel {question.id} 'Why?'>"


def test_index_lists_questions_newest_first_with_author_and_answer_count(app, client):
    user = make_user()
    older = QuestionModel(title="Older question", content="x", author=user,
                          create_time=utcnow() - timedelta(hours=1))
    newer = QuestionModel(title="Newer <b>question</b>", content="y", author=user)
    db.session.add_all([older, newer])
    db.session.add_all([AnswerModel(content=str(i), question=older, author=user) for i in range(3)])
    db.session.commit()

    page = client.get("/").get_data(as_text=True)
    assert page.index("Newer &lt;b&gt;question&lt;/b&gt;") < page.index("Older question")
    assert "3 answers" in page and "0 answers" in page
    assert "by ann" in page


def test_index_runs_a_constant_number_of_queries(app, client):
    user = make_user()

    def queries_for_index():
        statements = []
        record = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            assert client.get("/").status_code == 200
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        return len(statements)

    # A process's first request also reads the migration revision (migrating/status.py).
    assert client.get("/").status_code == 200
    counts = []
    for total in (1, 20):
        while QuestionModel.query.count() < total:
            question = QuestionModel(title="q", content="c", author=user)
            db.session.add_all([question, AnswerModel(content="a", question=question, author=user)])
            db.session.commit()
        counts.append(queries_for_index())
    assert counts[0] == counts[1] <= 4


def test_index_page_out_of_range_is_empty_not_an_error(app, client):
    response = client.get("/?page=999")
    assert response.status_code == 200
    assert "No questions yet." in response.get_data(as_text=True)
