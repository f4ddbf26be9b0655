"""Operations endpoints: health for load balancers and the Docker HEALTHCHECK, Prometheus
metrics, and the OpenAPI document itself."""

from typing import Literal

from flask import Response, current_app, jsonify
from pydantic import BaseModel

from webapp.api.task_schemas import HealthEnvelope
from webapp.db.base import utcnow
from webapp.db.session import reachable
from webapp.db.writer import writer
from webapp.machine import metrics, openapi
from webapp.machine.blueprint import MachineBlueprint, counters
from webapp.machine.credentials import PUBLIC, ConfiguredSecret
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import LLM, TASKS
from webapp.machine.openapi import INFO
from webapp.tasks.serialize import iso

TAGS = ("Operations",)


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    components: dict[str, str]


bp = MachineBlueprint("operations", __name__, family=LLM, credentials=[PUBLIC], audit=False)
# Spec 002's health check, in its family's envelope and under its base path.
tasks_health_bp = MachineBlueprint("tasks_health", __name__, family=TASKS, credentials=[PUBLIC], audit=False)
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


def _components() -> dict[str, str]:
    """database: answers a query; cache: the rate-limit store answers; jobQueue: no background
    writes are waiting in the spill file for the database to take them."""
    checks = {"database": reachable(), "cache": counters().reachable(), "jobQueue": writer().pending() == 0}
    return {name: "UP" if ok else "DOWN" for name, ok in checks.items()}


@tasks_health_bp.get("/api/v1/health")
@operation("Health of the server and what it depends on (spec 002)", "taskApiHealth", tags=TAGS,
           responses={200: Reply("Everything is UP", HealthEnvelope),
                      503: Reply("A component is DOWN", HealthEnvelope)})
def tasks_health():
    components = _components()
    up = all(state == "UP" for state in components.values())
    health = {"status": "UP" if up else "DOWN", "timestamp": iso(utcnow()), "version": INFO["version"],
              "components": components}
    # The spec shows the health object bare and says every answer is enveloped: both, side by side.
    response = jsonify({**health, "success": up, "data": health,
                        "message": "All components are up" if up else "Some components are down"})
    response.status_code = 200 if up else 503
    response.headers["Cache-Control"] = "no-store"
    return response


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
