"""The machine-API platform, through a family of its own: one blueprint declaration gives any URL
credentials, scopes, its family's error envelope (for the framework's errors too), body limits,
rate limits, audit and logs, and a place in the OpenAPI document."""

from __future__ import annotations

import json
import logging
import re

import pytest
from flask import abort, jsonify, request

from tests.api_helpers import bearer, make_token, make_user
from webapp import create_app
from webapp.api.credentials import WIDGET_KEY
from webapp.audit.models import AuditEvent
from webapp.db.orm import db
from webapp.errors import Conflict, NotFound
from webapp.machine.blueprint import MachineBlueprint, use_family
from webapp.machine.credentials import PUBLIC
from webapp.machine.declarations import Reply, body_limit, operation, requires
from webapp.machine.families import RAG, TASKS
from webapp.machine.observe import current_call
from webapp.tokens.models import ApiToken

MiB = 1024 * 1024
probe = MachineBlueprint("probe", __name__, family=TASKS, credentials=[WIDGET_KEY], rate_limits="API_RATE_LIMITS")
open_probe = MachineBlueprint("open_probe", __name__, family=RAG, credentials=[PUBLIC], audit=False)


@probe.get("/probe/items/<int:item_id>")
@requires("items:read")
@operation("One item", "getItem", responses={200: Reply("The item")}, errors={409: "ITEM_TAKEN"})
def get_item(item_id: int):
    if item_id == 0:
        abort(404)
    if item_id == 7:
        raise Conflict("Item 7 is taken.", code="ITEM_TAKEN", details={"item": 7})
    if item_id == 13:
        raise RuntimeError(f"boom while holding {request.headers['X-API-Key']} and sk-proj-abcdefghijklmnop")
    current_call().target = f"item:{item_id}"
    return jsonify({"id": item_id})


@probe.post("/probe/items")
@requires("items:write")
@body_limit(4 * MiB)
@operation("A large upload", "postItem", responses={200: Reply("Its size")})
def post_item():
    return jsonify({"size": len(request.get_data())})


@probe.post("/probe/small")
@requires()
@operation("A small upload", "postSmall", responses={200: Reply("Its size")})
def post_small():
    return jsonify({"size": len(request.get_data())})


@probe.get("/probe/switch")
@requires()
@operation("An error in another family's envelope", "switchFamily", responses={200: Reply("Never")})
def switch_family():
    use_family(RAG)
    raise NotFound("Nothing here.", code="NOPE")


@open_probe.get("/probe-public/hello")
@operation("Anyone may call", "hello", responses={200: Reply("Hello")})
def hello():
    return jsonify({"hello": "world"})


@pytest.fixture
def probe_app(app_env):
    app = create_app(env=app_env)
    app.register_blueprint(probe)
    app.register_blueprint(open_probe)
    return app


@pytest.fixture
def widget(probe_app):
    token_id, raw = make_token(probe_app, kind="widget")
    with probe_app.app_context():
        db.session.get(ApiToken, token_id).scopes = ["items:read"]
        db.session.commit()
    return {"X-API-Key": raw}


TASK_ENVELOPE = {"success", "error", "timestamp"}


def test_the_blueprint_credential_lets_its_kind_in_and_nothing_else(probe_app, widget):
    client = probe_app.test_client()
    assert client.get("/probe/items/1", headers=widget).json == {"id": 1}
    _, service = make_token(probe_app, kind="service")
    for headers in ({}, {"X-API-Key": service}, bearer(widget["X-API-Key"]), {"X-API-Key": "adk_wgt_forged"}):
        response = client.get("/probe/items/1", headers=headers)
        assert response.status_code == 401 and set(response.json) == TASK_ENVELOPE, headers
        assert response.json["error"]["code"] == "UNAUTHORIZED"
    # ... and the widget key is no agent token on spec 000.
    assert client.get("/v1/users/github/x/llm-config", headers=bearer(widget["X-API-Key"])).status_code == 401


def test_scopes_are_declared_per_view(probe_app, widget):
    response = probe_app.test_client().post("/probe/items", headers=widget, data=b"x")
    assert response.status_code == 403 and response.json["error"]["code"] == "FORBIDDEN"
    assert "items:write" in response.json["error"]["message"]


@pytest.mark.parametrize("method, path, status, code", [
    ("GET", "/probe/items/0", 404, "NOT_FOUND"),  # abort() inside the view
    ("DELETE", "/probe/items/1", 405, "METHOD_NOT_ALLOWED"),  # the router, before any view
    ("GET", "/probe/items/7", 409, "ITEM_TAKEN"),  # a domain error
    ("GET", "/probe/items/13", 500, "INTERNAL_SERVER_ERROR"),  # a bug
])
def test_every_error_under_the_blueprint_is_in_its_family_envelope(probe_app, widget, method, path, status, code):
    response = probe_app.test_client().open(path, method=method, headers=widget)
    assert response.status_code == status and response.is_json
    body = response.json
    assert set(body) == TASK_ENVELOPE and body["success"] is False
    assert body["error"]["code"] == code and set(body["error"]) == {"code", "message", "details"}


def test_the_family_comes_from_the_blueprint_not_from_a_path_table(probe_app):
    """/probe is in no family's URL space; its URLs still answer in spec 002's envelope."""
    client = probe_app.test_client()
    assert set(client.get("/probe/items/1").json) == TASK_ENVELOPE
    assert client.get("/probe-nothing").mimetype == "text/html"  # no blueprint, no family: the HTML 404


def test_a_view_may_answer_in_another_family(probe_app, widget):
    response = probe_app.test_client().get("/probe/switch", headers=widget)
    assert response.status_code == 404 and set(response.json) == {"detail", "error_code", "timestamp"}
    assert response.json["error_code"] == "NOPE"


def test_body_limits_per_view_with_the_global_limit_elsewhere(probe_app, widget):
    client = probe_app.test_client()
    with probe_app.app_context():
        db.session.execute(db.update(ApiToken).values(scopes=["items:read", "items:write"]))
        db.session.commit()
    two_mib = b"x" * (2 * MiB)
    assert client.post("/probe/items", headers=widget, data=two_mib).json == {"size": 2 * MiB}
    too_big = client.post("/probe/items", headers=widget, data=b"x" * (5 * MiB))
    assert too_big.status_code == 413 and too_big.json["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = client.post("/probe/small", headers=widget, data=two_mib)
    assert small.status_code == 413 and set(small.json) == TASK_ENVELOPE
    spec000 = client.post("/v1/users/llm-configs/batch", data=two_mib, content_type="application/json",
                          headers=bearer(make_token(probe_app)[1]))
    assert spec000.status_code == 413 and spec000.json["status"] == "error"


def test_machine_urls_come_from_the_registered_blueprints_and_get_no_cookie_session(probe_app, widget):
    from webapp.machine.registry import registry

    machine = registry(probe_app)
    assert machine.is_machine_path("/probe/items/5") and machine.is_machine_path("/probe-public/hello")
    assert machine.is_machine_path("/v1/users/github/x/llm-config") and not machine.is_machine_path("/auth/login")
    response = probe_app.test_client().get("/probe/items/1", headers=widget)
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary
    assert "Set-Cookie" in probe_app.test_client().get("/auth/login").headers


def test_no_page_lives_on_a_machine_path(app):
    """Machine paths get no cookie session, and the browser's hooks (CSRF protection among them)
    skip them: every route on one must be a machine blueprint's."""
    from webapp.machine.registry import registry

    machine = registry(app)
    on_machine_paths = [rule for rule in app.url_map.iter_rules()
                        if machine.is_machine_path(re.sub(r"<[^>]+>", "x", rule.rule))]
    assert len(on_machine_paths) > 20
    assert [rule.rule for rule in on_machine_paths if rule.endpoint.rpartition(".")[0] not in machine.blueprints] == []


def test_public_blueprint_needs_no_credential_and_writes_no_audit_row(probe_app):
    assert probe_app.test_client().get("/probe-public/hello").json == {"hello": "world"}
    with probe_app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)) == 0


def test_calls_are_audited_with_the_target_the_view_set(probe_app, widget):
    client = probe_app.test_client()
    client.get("/probe/items/42", headers=widget)
    client.get("/probe/items/7", headers=widget)
    with probe_app.app_context():
        rows = [(e.action, e.target, e.status_code, e.actor_label.startswith("widget-token"))
                for e in db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("api.%"))
                                            .order_by(AuditEvent.id))]
    assert rows == [("api.get_item", "item:42", 200, True), ("api.get_item", "", 409, True)]


def test_a_500_writes_one_json_error_line_with_a_redacted_stack_trace(probe_app, widget, caplog):
    with caplog.at_level(logging.WARNING, logger="agentdesk.api_errors"):
        response = probe_app.test_client().get("/probe/items/13", headers=widget)
    assert response.json["error"]["message"] == "An unexpected error occurred"
    assert widget["X-API-Key"] not in response.get_data(as_text=True)
    lines = [json.loads(r.getMessage()) for r in caplog.records if r.name == "agentdesk.api_errors"]
    assert len(lines) == 1
    line = lines[0]
    assert (line["level"], line["error_code"], line["path"]) == ("ERROR", "INTERNAL_SERVER_ERROR", "/probe/items/13")
    assert "RuntimeError: boom while holding adk_wgt_[redacted] and sk-[redacted]" in line["stack_trace"]
    assert widget["X-API-Key"] not in caplog.text and "abcdefghijklmnop" not in caplog.text
    assert not [r for r in caplog.records if r.name != "agentdesk.api_errors" and r.exc_info]  # no bare traceback


def test_the_document_shows_the_new_family_from_its_declarations(probe_app):
    doc = probe_app.test_client().get("/openapi.json").json
    get = doc["paths"]["/probe/items/{item_id}"]["get"]
    assert get["security"] == [{"widgetKey": []}] and get["tags"] == ["Agent tasks (spec 002)"]
    assert doc["components"]["securitySchemes"]["widgetKey"] == {"type": "apiKey", "in": "header",
                                                                 "name": "X-API-Key"}
    assert get["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskErrorResponse"}
    assert set(get["responses"]) == {"200", "401", "403", "409", "429", "503"}
    assert doc["paths"]["/probe-public/hello"]["get"]["security"] == []


def test_a_blueprint_registered_under_another_name_still_checks_scopes(app_env):
    """The declarations belong to the views, not to a blueprint name (register_blueprint(name=...))."""
    from tests.api_helpers import OPENAI, set_config
    from webapp.api.llm import bp as api_llm

    app = create_app(env=app_env)
    app.register_blueprint(api_llm, name="renamed", url_prefix="/renamed")
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    _, scopeless = make_token(app, scopes=[])
    client = app.test_client()
    for path in ("/config/github/octo", "/renamed/config/github/octo"):
        response = client.get(path, headers=bearer(scopeless))
        assert response.status_code == 403 and response.json["error"]["code"] == "FORBIDDEN", path
        assert "Cookie" not in response.vary
    assert "/renamed/config/{platform}/{username}" in client.get("/openapi.json").json["paths"]


def test_a_machine_blueprint_must_name_its_credentials():
    with pytest.raises(ValueError, match="credentials"):
        MachineBlueprint("nameless", __name__, family=TASKS, credentials=[])


def test_an_unknown_url_in_a_family_space_gets_no_cookie_session(probe_app):
    response = probe_app.test_client().get("/v1/nothing-here")
    assert response.status_code == 404 and response.is_json
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.vary


def test_an_audit_failure_leaves_the_answer_alone_and_is_logged_once(probe_app, widget, caplog):
    from webapp.machine.registry import registry

    attempts = []

    def broken(*args, **kwargs):
        attempts.append(args)
        raise RuntimeError("audit store gone")

    registry(probe_app).record_call = broken
    with caplog.at_level(logging.ERROR, logger="agentdesk.api_errors"):
        response = probe_app.test_client().get("/probe/items/1", headers=widget)
    assert response.status_code == 200 and response.json == {"id": 1} and len(attempts) == 1
    assert [json.loads(r.getMessage())["error_code"] for r in caplog.records
            if r.name == "agentdesk.api_errors"] == ["AUDIT_FAILED"]
