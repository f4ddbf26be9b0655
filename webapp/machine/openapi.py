"""One OpenAPI 3.1 document for every machine route, generated from what each view declares
(webapp/machine/declarations.py) and what its blueprint attaches (credentials, rate limits, family)."""

from __future__ import annotations

import re

from flask import current_app
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from webapp.machine.declarations import Operation, Reply
from webapp.machine.registry import registry

RATE_HEADERS = {
    name: {"description": text, "schema": {"type": "integer"}}
    for name, text in (("X-RateLimit-Limit", "Requests allowed per minute for this credential"),
                       ("X-RateLimit-Remaining", "Requests left in the current minute"),
                       ("X-RateLimit-Reset", "Unix time at which the minute window frees a request"),
                       ("X-RateLimit-Limit-Hour", "Requests allowed per hour"),
                       ("X-RateLimit-Remaining-Hour", "Requests left in the current hour"),
                       ("X-RateLimit-Reset-Hour", "Unix time at which the hour window frees a request"))
}
PLATFORM_ERRORS = {
    401: "UNAUTHORIZED: missing, unknown, revoked or expired credential",
    403: "FORBIDDEN: the credential lacks a scope this operation needs",
    429: "RATE_LIMIT_EXCEEDED, with retry_after and a Retry-After header",
    503: "SERVICE_UNAVAILABLE: the rate-limit store is unreachable",
}
_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")
INFO = {
    "title": "AgentDesk API", "version": "1.0.0",
    "description": "Machine APIs of AgentDesk. Spec 000 authenticates with `Authorization: Bearer <token>`; "
                   "create a service token in Admin → Service tokens or with "
                   "`flask --app wsgi tokens create --kind service --name NAME`.",
}


NO_NUL = "^[^\\u0000]*$"  # what webapp/machine/inputs.py refuses in text, said in the schema


def _no_nul(schema):
    """Every free text of a request schema says it takes no NUL (a pattern of its own already does)."""
    if isinstance(schema, dict):
        if schema.get("type") == "string" and not any(k in schema for k in ("pattern", "enum", "const", "format")):
            schema["pattern"] = NO_NUL
        for key, value in schema.items():
            if key not in ("examples", "default"):
                _no_nul(value)
    elif isinstance(schema, list):
        for value in schema:
            _no_nul(value)
    return schema


def _ref(model: type[BaseModel]) -> dict:
    return {"$ref": f"#/components/schemas/{model.__name__}"}


def _parameters(model: type[BaseModel] | None, where: str) -> list[dict]:
    if model is None:
        return []
    schema = model.model_json_schema()
    required = set(schema.get("required", ()))
    parameters = []
    for name, prop in schema["properties"].items():
        parameter = {"name": name, "in": where, "required": where == "path" or name in required,
                     "schema": _no_nul({k: v for k, v in prop.items()
                                        if k not in ("title", "description", "examples")})}
        if prop.get("description"):
            parameter["description"] = prop["description"]
        if prop.get("examples"):
            parameter["example"] = prop["examples"][0]
        parameters.append(parameter)
    return parameters


class _Builder:
    """Collects paths, the models they reference and the security schemes they use."""

    def __init__(self):
        self.paths: dict[str, dict] = {}
        self.models: set[type[BaseModel]] = set()
        self.schemes: dict[str, dict] = {}

    def reply(self, reply: Reply, headers: dict | None) -> dict:
        answer: dict = {"description": reply.description}
        if reply.model is not None:
            self.models.add(reply.model)
            answer["content"] = {reply.media_type: {"schema": _ref(reply.model)}}
        elif reply.media_type != "application/json":
            answer["content"] = {reply.media_type: {"schema": {"type": "string"}}}
        else:
            answer["content"] = {reply.media_type: {"schema": {"type": "object"}}}
        if headers:
            answer["headers"] = headers
        return answer

    def add(self, app, rule, blueprint, op: Operation, scopes) -> None:
        path = _VARIABLE.sub(r"{\1}", rule.rule)
        limited = bool(blueprint.rate_limits or blueprint.anonymous_limits)
        closed = [c for c in blueprint.credentials if not c.open_in(app)]
        errors: dict[int, list[str]] = {}
        refused = blueprint.family.refused
        if closed:
            errors.setdefault(refused[0] if refused else 401, []).append(
                f"{refused[1]}: {refused[2]}" if refused else PLATFORM_ERRORS[401])
        if scopes:
            errors.setdefault(403, []).append(PLATFORM_ERRORS[403])
        for status, text in op.errors.items():
            errors.setdefault(status, []).append(text)
        if limited:
            errors.setdefault(429, []).append(PLATFORM_ERRORS[429])
            errors.setdefault(503, []).append(PLATFORM_ERRORS[503])
        family = blueprint.family
        error_models = [family.error_model, *(other.error_model for other in op.also_families)]
        self.models.update(error_models)
        error_schema = _ref(family.error_model) if len(error_models) == 1 else {"oneOf": [_ref(m) for m in error_models]}
        security = [{c.scheme_name: []} for c in closed]
        if security and len(closed) < len(blueprint.credentials):
            security.append({})  # the credential is optional
        for credential in closed:
            self.schemes[credential.scheme_name] = credential.scheme
        base = {"tags": list(op.tags or (family.title,)), "security": security,
                "parameters": _parameters(op.path, "path") + _parameters(op.query, "query")}
        if not base["parameters"]:
            del base["parameters"]
        rate = RATE_HEADERS if limited else None
        item = self.paths.setdefault(path, {})
        for method in sorted(rule.methods - {"OPTIONS", "HEAD"}):
            operation = {**base, "summary": op.summary, "operationId": op.operation_id,
                         "responses": {str(status): self.reply(reply, rate) for status, reply in op.responses.items()}}
            for status, texts in sorted(errors.items()):
                answer = {"description": "; ".join(texts),
                          "content": {"application/json": {"schema": error_schema}}}
                if rate and status != (refused[0] if refused else 401):
                    answer["headers"] = rate
                operation["responses"][str(status)] = answer
            if op.body is not None:
                self.models.add(op.body)
                operation["requestBody"] = {"required": True,
                                            "content": {"application/json": {"schema": _ref(op.body)}}}
            if op.form is not None:
                self.models.add(op.form)
                operation["requestBody"] = {"required": True,
                                            "content": {"multipart/form-data": {"schema": _ref(op.form)}}}
            item[method.lower()] = operation
        if op.head is not None and "HEAD" in rule.methods:
            item["head"] = {**base, "summary": op.head.summary, "operationId": op.head.operation_id,
                            "parameters": _parameters(op.path, "path"),
                            "responses": {"200": {"description": op.head.ok},
                                          **{str(s): {"description": "; ".join(t)} for s, t in sorted(errors.items())}}}

    def document(self) -> dict:
        ordered = sorted(self.models, key=lambda m: m.__name__)
        for first, second in zip(ordered, ordered[1:]):
            if first.__name__ == second.__name__:  # a $ref names a model: two of one name would dangle
                raise ValueError(f"two API models are named {first.__name__} ({first.__module__}, "
                                 f"{second.__module__}): rename one")
        _, defs = models_json_schema([(m, "validation") for m in ordered], ref_template="#/components/schemas/{model}")
        _no_nul(defs)
        return {"openapi": "3.1.0", "info": INFO, "servers": [{"url": "/"}], "paths": self.paths,
                "components": {"schemas": defs.get("$defs", {}), "securitySchemes": self.schemes}}


def build(app) -> dict:
    builder = _Builder()
    machine = registry(app)
    for rule in machine.rules(app):
        blueprint = machine.blueprint_for(rule.endpoint)
        declared = app.view_functions[rule.endpoint].__machine__
        builder.add(app, rule, blueprint, declared.operation, declared.scopes)
    return builder.document()


def document() -> dict:
    """This app's document, built on first request (every route is registered by then)."""
    cached = current_app.extensions.get("agentdesk.openapi")
    if cached is None:
        cached = current_app.extensions["agentdesk.openapi"] = build(current_app)
    return cached
