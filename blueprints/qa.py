"""Questions and answers: the question list."""
from flask import Blueprint, current_app, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload, undefer

from exts import db
from models import QuestionModel

bp = Blueprint("qa", __name__)


@bp.route("/")
def index():
    page = request.args.get("page", 1, type=int)
    query = (
        select(QuestionModel)
        .options(joinedload(QuestionModel.author), undefer(QuestionModel.answer_count))
        .order_by(QuestionModel.create_time.desc(), QuestionModel.id.desc())
    )
    pagination = db.paginate(
        query, page=page, per_page=current_app.config["QUESTIONS_PER_PAGE"], error_out=False
    )
    return render_template("index.html", pagination=pagination)
