"""Operations endpoints: health for load balancers and the Docker HEALTHCHECK, Prometheus
metrics, and the OpenAPI document itself."""

from typing import Literal

from flask import Response, current_app, jsonify
from pydantic import BaseModel

from webapp.db.session import reachable
from webapp.machine import metrics, openapi
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.credentials import PUBLIC, ConfiguredSecret
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import LLM

TAGS = ("Operations",)


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    components: dict[str, str]


bp = MachineBlueprint("operations", __name__, family=LLM, credentials=[PUBLIC], audit=False)
metrics_bp = MachineBlueprint("metrics", __name__, family=LLM, credentials=[ConfiguredSecret("METRICS_TOKEN")],
                              audit=False)


def _health():
    database = "ok" if reachable() else "unavailable"
    healthy = database == "ok"
    response = jsonify({"status": "healthy" if healthy else "unhealthy", "components": {"database": database}})
    response.status_code = 200 if healthy else 503
    response.headers["Cache-Control"] = "no-store"
    return response


HEALTH = {"responses": {200: Reply("Healthy", HealthResponse), 503: Reply("The database is unreachable",
                                                                          HealthResponse)}, "tags": TAGS}


@bp.get("/health")
@operation("Liveness and database reachability", "health", **HEALTH)
def health():
    return _health()


@bp.get("/v1/health")
@operation("Liveness and database reachability (spec 000's base path)", "healthV1", **HEALTH)
def health_v1():
    return _health()


@bp.get("/openapi.json")
@operation("This document", "openapi", responses={200: Reply("OpenAPI 3.1")}, tags=TAGS)
def openapi_json():
    return jsonify(openapi.document())


@metrics_bp.get("/metrics")
@requires()
@operation("Prometheus metrics of the machine APIs", "metrics", tags=TAGS,
           responses={200: Reply("Prometheus text exposition format", media_type="text/plain")})
def scrape():
    body, content_type = metrics.exposition(current_app.config["PROMETHEUS_MULTIPROC_DIR"])
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
