"""GET /health: liveness and database reachability, for load balancers and the Docker HEALTHCHECK."""

from flask import Blueprint, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/health")
@bp.get("/v1/health")
def health():
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except SQLAlchemyError:
        db.session.rollback()
        database = "unavailable"
    healthy = database == "ok"
    response = jsonify({"status": "healthy" if healthy else "unhealthy", "components": {"database": database}})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response
