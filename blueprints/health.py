"""GET /healthz for load balancers: 200 with the revision at head, 503 otherwise."""
from flask import Blueprint, current_app, jsonify

from migration_safety.status import database_status

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    status = database_status(current_app)
    return jsonify(status.as_dict()), 200 if status.ok else 503, {"Cache-Control": "no-store"}
