"""GET /metrics in Prometheus text format; optionally behind METRICS_TOKEN."""

import hmac

from flask import Blueprint, Response, abort, current_app, request

from webapp import metrics

bp = Blueprint("metrics", __name__)


@bp.get("/metrics")
def scrape():
    expected = current_app.config["METRICS_TOKEN"]
    if expected:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), expected.encode()):
            abort(401)
    body, content_type = metrics.exposition(current_app.config["PROMETHEUS_MULTIPROC_DIR"])
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
