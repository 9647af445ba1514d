"""Questions and answers: the list, asking, a question with its answers, answering, search."""
from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request,
                   url_for)
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, undefer

from blueprints.auth import login_required
from blueprints.forms import ID_MAX, AnswerForm, QuestionForm
from blueprints.pagecache import cached_for_anonymous
from exts import csrf, db
from models import AnswerModel, QuestionModel, UserModel

bp = Blueprint("qa", __name__)


@bp.app_template_filter()
def question_url(qa_id):
    """url_for("qa.qa_detail") for list pages: url_for costs 15 µs, and a page links twenty."""
    prefixes = current_app.extensions.setdefault("question_url_prefixes", {})
    # Keyed by the mount point, which a proxy may set per request (SCRIPT_NAME).
    prefix = prefixes.get(request.script_root)
    if prefix is None:
        prefix = prefixes[request.script_root] = url_for("qa.qa_detail", qa_id=1)[:-1]
    return f"{prefix}{int(qa_id)}"

SEARCH_MAX = 100
# Deeper pages are refused an OFFSET that SQLite cannot even represent.
PAGE_MAX = 100_000


class Page:
    """One page of rows, found without a COUNT(*): one more row than shown tells if a next exists."""

    def __init__(self, items, page, has_next):
        self.items = items
        self.page = page
        self.has_prev = page > 1
        self.has_next = has_next
        self.prev_num = page - 1
        self.next_num = page + 1


def page_number():
    page = request.args.get("page", 1, type=int)
    return min(max(page, 1), PAGE_MAX)


def paginate(query, per_page):
    page = page_number()
    rows = db.session.execute(query.limit(per_page + 1).offset((page - 1) * per_page)).all()
    return Page(rows[:per_page], page, has_next=len(rows) > per_page)


# Lists are plain rows with the author's name joined in, not ORM objects: building twenty
# objects cost about as much as the query itself. Statements are built once, at import.
QUESTION_LIST = (
    select(QuestionModel.id, QuestionModel.title, QuestionModel.create_time,
           UserModel.username.label("author_name"),
           QuestionModel.answer_count.expression.label("answer_count"))
    .join(UserModel, QuestionModel.author_id == UserModel.id)
    .order_by(QuestionModel.create_time.desc(), QuestionModel.id.desc())
)
QUESTION_DETAIL = (
    select(QuestionModel)
    .options(joinedload(QuestionModel.author, innerjoin=True), undefer(QuestionModel.answer_count))
)
ANSWER_LIST = (
    select(AnswerModel.id, AnswerModel.content, AnswerModel.create_time,
           UserModel.username.label("author_name"))
    .join(UserModel, AnswerModel.author_id == UserModel.id)
    .order_by(AnswerModel.create_time.desc(), AnswerModel.id.desc())
)


@bp.route("/")
@cached_for_anonymous
def index():
    pagination = paginate(QUESTION_LIST, current_app.config["QUESTIONS_PER_PAGE"])
    return render_template("index.html", pagination=pagination)


# The question and answer forms check their CSRF token themselves (blueprints/forms.py): a
# token that expired while a long text was typed shows the form again, text and all.
@bp.route("/qa/public", methods=["GET", "POST"])
@csrf.exempt
@login_required
def public_question():
    form = QuestionForm()
    if form.validate_on_submit():
        question = QuestionModel(title=form.title.data, content=form.content.data, author=g.user)
        db.session.add(question)
        db.session.commit()
        flash("Your question is posted.", "success")
        return redirect(url_for("qa.qa_detail", qa_id=question.id))
    status = 400 if request.method == "POST" else 200
    return render_template("qa/public_question.html", form=form), status


def render_detail(qa_id, form=None, status=200):
    question = db.session.scalars(QUESTION_DETAIL.where(QuestionModel.id == qa_id)).first()
    if question is None:
        abort(404, description="There is no such question. It may never have existed.")
    answers = paginate(ANSWER_LIST.where(AnswerModel.question_id == qa_id),
                       current_app.config["ANSWERS_PER_PAGE"])
    if form is None and g.user is not None:
        form = AnswerForm(question_id=qa_id)
    return render_template("qa/detail.html", question=question, answers=answers,
                           form=form), status


@bp.route(f"/qa/detail/<int(max={ID_MAX}):qa_id>")
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
                               author=g.user))
    db.session.commit()
    flash("Your answer is posted.", "success")
    return redirect(url_for("qa.qa_detail", qa_id=question_id))


@bp.route("/search")
@cached_for_anonymous
def search():
    q = request.args.get("q", "").strip()
    error = None
    pagination = None
    status = 200
    if len(q) > SEARCH_MAX:
        error = f"Search for at most {SEARCH_MAX} characters."
        status = 400
    elif q:
        # autoescape: a % or _ typed by the user matches itself, not any text.
        query = QUESTION_LIST.where(or_(QuestionModel.title.contains(q, autoescape=True),
                                          QuestionModel.content.contains(q, autoescape=True)))
        pagination = paginate(query, current_app.config["QUESTIONS_PER_PAGE"])
    return render_template("search.html", q=q, pagination=pagination, error=error), status
