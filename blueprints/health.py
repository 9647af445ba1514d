"""GET /healthz for load balancers: 200 with the revision at head, 503 otherwise; the broker."""
from flask import Blueprint, current_app, jsonify

from migration_safety.status import database_status

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    status = database_status(current_app)
    body = status.as_dict()
    queue = current_app.extensions["mail_queue"]
    if queue is not None:
        # Reported, but it does not decide the status: pages still work without the broker,
        # and every server shares it, so taking this one out of rotation would not help.
        body["broker"] = queue.status()
    return jsonify(body), 200 if status.ok else 503, {"Cache-Control": "no-store"}
