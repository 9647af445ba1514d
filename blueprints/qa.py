"""Questions and answers: the list, asking, a question with its answers, answering, search."""
import re

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from sqlalchemy import bindparam, func, select
from werkzeug.routing import IntegerConverter

from blueprints.auth import login_required
from blueprints.forms import ID_MAX, AnswerForm, QuestionForm
from blueprints.pagecache import cached_for_anonymous
from blueprints.pages import NO_SUCH_PAGE, Page, page_number, plain_rows, seek_page
from blueprints.search import Terms, search as find
from exts import csrf, db
from models import AnswerModel, QuestionModel, UserModel

bp = Blueprint("qa", __name__)


SEARCH_MAX = 100
# Pages of a search by number alone (?page=N, an OFFSET) stop here; the site's own links go
# on from any page by its seek key, at the cost of page 1 (README, "Search").
SEARCH_PAGES_BY_NUMBER = 50


class IdConverter(IntegerConverter):
    """Ids as the site writes them: ASCII digits without a leading zero (werkzeug's int takes
    "01" and "１" too, which made second addresses of one page)."""

    regex = r"[1-9][0-9]{0,9}"


ID_DIGITS = re.compile(IdConverter.regex)


@bp.record_once
def register_id_converter(state):
    # Before the routes below are added: a rule reads its converters when it is bound.
    state.app.url_map.converters["id"] = IdConverter


# Statements are built once, at import, with bind parameters: building one per request (and
# its cache key) cost three to five times what running it costs. Lists are plain rows with the
# author's name joined in, not ORM objects. STRAIGHT_JOIN: MariaDB would otherwise start from
# `user` and read every question; the question index is the way in on both databases.
AUTHOR = UserModel.username.label("author_name")
NEWEST_QUESTION = select(func.max(QuestionModel.seq)).correlate(None).scalar_subquery()
QUESTION_PAGE = (
    select(QuestionModel.id, QuestionModel.title, QuestionModel.create_time,
           QuestionModel.answer_count, AUTHOR)
    .prefix_with("STRAIGHT_JOIN", dialect="mysql")
    .join(UserModel, QuestionModel.author_id == UserModel.id)
    .where(QuestionModel.seq <= NEWEST_QUESTION - bindparam("skip"))
    .order_by(QuestionModel.seq.desc())
    .limit(bindparam("limit"))
)
QUESTION = (
    select(QuestionModel.id, QuestionModel.title, QuestionModel.content,
           QuestionModel.create_time, QuestionModel.answer_count, AUTHOR)
    .join(UserModel, QuestionModel.author_id == UserModel.id)
    .where(QuestionModel.id == bindparam("id"))
)
# A question's answers are numbered 1..answer_count: page N is a range of the
# (question_id, seq) index.
ANSWER_PAGE = (
    select(AnswerModel.id, AnswerModel.content, AnswerModel.create_time, AUTHOR)
    .prefix_with("STRAIGHT_JOIN", dialect="mysql")
    .join(UserModel, AnswerModel.author_id == UserModel.id)
    .where(AnswerModel.question_id == bindparam("question_id"),
           AnswerModel.seq <= bindparam("newest") - bindparam("skip"))
    .order_by(AnswerModel.seq.desc())
    .limit(bindparam("limit"))
)


@bp.route("/")
@cached_for_anonymous
def index():
    pagination = seek_page(db.session.connection(), QUESTION_PAGE, {}, page_number(),
                           current_app.config["QUESTIONS_PER_PAGE"])
    return render_template("index.html", pagination=pagination)


# The question and answer forms check their CSRF token themselves (blueprints/forms.py): a
# token that expired while a long text was typed shows the form again, text and all.
@bp.route("/qa/public", methods=["GET", "POST"])
@csrf.exempt
@login_required
def public_question():
    form = QuestionForm()
    if form.validate_on_submit():
        question = QuestionModel(title=form.title.data, content=form.content.data,
                                 author_id=g.user.id)
        db.session.add(question)
        db.session.commit()
        flash("Your question is posted.", "success")
        return redirect(url_for("qa.qa_detail", qa_id=question.id))
    status = 400 if request.method == "POST" else 200
    return render_template("qa/public_question.html", form=form), status


def render_detail(qa_id, form=None, status=200):
    connection = db.session.connection()
    question = connection.execute(QUESTION, {"id": qa_id}).first()
    if question is None:
        abort(404, description="There is no such question. It may never have existed.")
    answers = seek_page(connection, ANSWER_PAGE,
                        {"question_id": qa_id, "newest": question.answer_count},
                        page_number(), current_app.config["ANSWERS_PER_PAGE"])
    if form is None and g.user is not None:
        form = AnswerForm(question_id=qa_id)
    return render_template("qa/detail.html", question=question, answers=answers,
                           form=form), status


@bp.route(f"/qa/detail/<id(max={ID_MAX}):qa_id>")
@cached_for_anonymous
def qa_detail(qa_id):
    return render_detail(qa_id)


@bp.route("/answer/public", methods=["POST"])
@csrf.exempt
@login_required
def public_answer():
    form = AnswerForm()
    if not form.validate():
        if "question_id" in form.errors:
            abort(404, description="There is no such question to answer.")
        return render_detail(form.question_id.data, form=form, status=400)
    question_id = form.question_id.data
    if db.session.get(QuestionModel, question_id) is None:
        abort(404, description="There is no such question to answer.")
    db.session.add(AnswerModel(content=form.content.data, question_id=question_id,
                               author_id=g.user.id))
    db.session.commit()
    flash("Your answer is posted.", "success")
    return redirect(url_for("qa.qa_detail", qa_id=question_id))


@bp.route("/search")
@cached_for_anonymous
def search():
    q = request.args.get("q", "").strip()
    error = None
    pagination = terms = None
    status = 200
    if len(q) > SEARCH_MAX:
        error = f"Search for at most {SEARCH_MAX} characters."
        status = 400
    elif q:
        terms = Terms(q)
        if terms.searched:
            pagination = search_page(terms)
        else:
            error = "Search for words of at least 3 letters (Chinese: 1 character or more)."
            status = 400
    return render_template("search.html", q=q, terms=terms, pagination=pagination,
                           error=error), status


def search_page(terms):
    """The page of search results the address asks for: page N by the seek key its links
    carry (?page=3&before=ID: the hits older than the last one of page 2; ?page=2&after=ID:
    the hits newer than the first one of page 3), or by number alone up to
    SEARCH_PAGES_BY_NUMBER. A key that is not an id, or one with page 1, is a 404."""
    page, per_page = page_number(), current_app.config["QUESTIONS_PER_PAGE"]
    before, after = seek_key("before"), seek_key("after")
    connection = db.session.connection()
    if before is None and after is None:
        if page > SEARCH_PAGES_BY_NUMBER:
            abort(404, description=f"{NO_SUCH_PAGE} Search pages by number stop at page "
                                   f"{SEARCH_PAGES_BY_NUMBER}; its Older link goes on from there.")
        rows, more = find(connection, terms, per_page, page=page)
    elif page == 1 or (before and after):
        abort(404, description=NO_SUCH_PAGE)
    elif before:
        rows, more = find(connection, terms, per_page, before=before)
    else:
        rows, newer = find(connection, terms, per_page, after=after)
        if not newer:
            # Nothing newer than this page: it is page 1 now (questions were deleted, or the
            # key was not one the site wrote).
            abort(redirect(url_for("qa.search", q=request.args.get("q"))))
        more = True  # the page this key came from, at least
    if page > 1 and not rows:
        abort(404, description=NO_SUCH_PAGE)
    # The title marked, and the text replaced by its marked snippet.
    return Page(terms.marked(plain_rows(rows)), page, has_next=more)


def seek_key(name):
    """The id in ?*name*=, None without one; anything but an id is a 404."""
    raw = request.args.get(name)
    if raw is None:
        return None
    if not ID_DIGITS.fullmatch(raw) or int(raw) > ID_MAX:
        abort(404, description=NO_SUCH_PAGE)
    return int(raw)
