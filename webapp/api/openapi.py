"""One OpenAPI 3.1 document for every JSON endpoint, built from the pydantic schemas in api/schemas.py."""

from __future__ import annotations

from functools import lru_cache

from flask import Blueprint, current_app, jsonify, make_response, render_template
from pydantic.json_schema import models_json_schema

from webapp.api import schemas
from webapp.assets import CDN_ORIGIN

bp = Blueprint("openapi", __name__)

RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (("X-RateLimit-Limit", "Requests allowed per minute for this token"),
                       ("X-RateLimit-Remaining", "Requests left in the current minute"),
                       ("X-RateLimit-Reset", "Unix time at which the minute window frees a request"),
                       ("X-RateLimit-Limit-Hour", "Requests allowed per hour"),
                       ("X-RateLimit-Remaining-Hour", "Requests left in the current hour"),
                       ("X-RateLimit-Reset-Hour", "Unix time at which the hour window frees a request"))
}
ERRORS = {
    "400": "INVALID_PLATFORM, INVALID_USERNAME or INVALID_REQUEST",
    "401": "UNAUTHORIZED: missing, unknown, revoked or expired token",
    "403": "FORBIDDEN: the token may not read this user, or the user is deactivated",
    "404": "USER_NOT_FOUND or CONFIG_NOT_FOUND",
    "429": "RATE_LIMIT_EXCEEDED, with retry_after and a Retry-After header",
    "503": "SERVICE_UNAVAILABLE: the rate-limit store is unreachable",
}


def _ref(model) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _json(model, description: str, headers: dict | None = None) -> dict:
    response = {"description": description, "content": {"application/json": {"schema": _ref(model)}}}
    if headers:
        response["headers"] = headers
    return response


def _errors(*codes: str) -> dict:
    return {code: _json(schemas.ErrorResponse, ERRORS[code], RATE_HEADERS if code != "401" else None)
            for code in codes}


PLATFORM = {"name": "platform", "in": "path", "required": True, "description": "github or gitlab",
            "schema": {"type": "string", **schemas.PLATFORM_SCHEMA}, "example": "github"}
USERNAME = {"name": "username", "in": "path", "required": True, "description": "The login on that platform",
            "schema": {"type": "string", "maxLength": 255, **schemas.USERNAME_SCHEMA}, "example": "notfolder"}


def _flag(name: str, description: str, default: bool) -> dict:
    return {"name": name, "in": "query", "required": False, "description": description,
            "schema": {"type": "boolean", "default": default}}


MASK = _flag("mask_api_key", "Return provider API keys masked (sk-proj-****…abcd)", False)
PROMPT = _flag("include_system_prompt", "Include system_prompt in the answer", True)


def _paths() -> dict:
    read_errors = _errors("400", "401", "403", "404", "429", "503")
    get_config = {
        "tags": ["LLM settings (spec 000)"], "summary": "A user's effective LLM settings",
        "operationId": "getLlmConfig", "parameters": [PLATFORM, USERNAME, PROMPT, MASK],
        "responses": {"200": _json(schemas.LLMConfigResponse, "The settings", RATE_HEADERS), **read_errors},
    }
    head_config = {
        "tags": ["LLM settings (spec 000)"], "summary": "Do settings exist for this user?",
        "operationId": "headLlmConfig", "parameters": [PLATFORM, USERNAME],
        "responses": {code: {"description": text} for code, text in
                      (("200", "Settings exist"), *ERRORS.items())},
    }
    batch = {
        "tags": ["LLM settings (spec 000)"], "summary": "Settings of up to 100 users in one call",
        "operationId": "batchLlmConfigs", "parameters": [MASK],
        "requestBody": {"required": True, "content": {"application/json": {"schema": _ref(schemas.BatchRequest)}}},
        "responses": {"200": _json(schemas.BatchResponse, "Settings found, and who has none", RATE_HEADERS),
                      **_errors("400", "401", "403", "429", "503")},
    }
    legacy = {
        "tags": ["LLM settings (spec 000)"], "summary": "The shape the deployed coding agent reads",
        "operationId": "getLegacyConfig", "parameters": [PLATFORM, USERNAME, MASK],
        "responses": {"200": _json(schemas.LegacyConfigResponse, "The settings", RATE_HEADERS), **read_errors},
    }
    health = {
        "tags": ["Operations"], "summary": "Liveness and database reachability", "security": [],
        "responses": {"200": _json(schemas.HealthResponse, "Healthy"),
                      "503": _json(schemas.HealthResponse, "The database is unreachable")},
    }
    return {
        "/v1/users/{platform}/{username}/llm-config": {"get": get_config, "head": head_config},
        "/v1/users/llm-configs/batch": {"post": batch},
        "/config/{platform}/{username}": {"get": legacy},
        "/health": {"get": {**health, "operationId": "health"}},
        "/v1/health": {"get": {**health, "operationId": "healthV1"}},
    }


@lru_cache(maxsize=1)
def document() -> dict:
    models = [schemas.BatchRequest, schemas.LLMConfigResponse, schemas.BatchResponse, schemas.LegacyConfigResponse,
              schemas.ErrorResponse, schemas.HealthResponse]
    _, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    return {
        "openapi": "3.1.0",
        "info": {"title": "AgentDesk API", "version": "1.0.0",
                 "description": "Machine APIs of AgentDesk. Authenticate with `Authorization: Bearer <token>`; "
                                "create a service token in Admin → Service tokens or with "
                                "`flask --app wsgi tokens create --kind service --name NAME`."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": _paths(),
        "components": {"schemas": defs["$defs"],
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return jsonify(document())


def _docs_page(template: str, extra_style: str = ""):
    response = make_response(render_template(template))
    origins = "'self'" if current_app.config["ASSET_MODE"] == "local" else f"'self' {CDN_ORIGIN}"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'self'; script-src {origins}; style-src {origins}{extra_style}; img-src 'self' data:; "
        f"worker-src 'self' blob:; connect-src 'self'; font-src 'self' data: {CDN_ORIGIN}; object-src 'none'; "
        "base-uri 'self'; frame-ancestors 'none'")
    return response


@bp.get("/docs")
def swagger_ui():
    return _docs_page("docs/swagger.html")


@bp.get("/redoc")
def redoc():
    # ReDoc styles itself with runtime-generated <style> elements, so this page alone allows inline styles.
    return _docs_page("docs/redoc.html", " 'unsafe-inline'")
