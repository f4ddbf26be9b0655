"""The OpenAPI document, the docs pages, and schemathesis fuzzing the API against its own schema."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import negative_data_rejection, positive_data_acceptance

from tests.api_helpers import OPENAI, OPENAI_KEY, bearer, make_token, make_user, set_config
from webapp import create_app


def test_openapi_document_describes_every_json_endpoint(client):
    doc = client.get("/openapi.json").json
    assert doc["openapi"].startswith("3.")
    assert set(doc["paths"]) == {"/v1/users/{platform}/{username}/llm-config", "/v1/users/llm-configs/batch",
                                 "/config/{platform}/{username}", "/health", "/v1/health", "/metrics",
                                 "/openapi.json", "/api/v1/auth/register", "/api/v1/auth/login",
                                 "/api/v1/auth/refresh", "/api/v1/auth/me", "/api/v1/health", "/api/v1/tasks",
                                 "/api/v1/tasks/{id}", "/api/v1/tasks/{id}/status", "/api/v1/tasks/{id}/progress",
                                 "/api/v1/tasks/{id}/logs", "/api/v1/tasks/{id}/metrics", "/api/v1/tasks/{id}/errors",
                                 "/api/v1/tasks/{id}/auto-fix", "/usagekey", "/codereview",
                                 "/api/v1/contents", "/api/v1/contents/upload", "/api/v1/contents/{file_id}",
                                 "/api/v1/chats/rag", "/api/v1/api-keys", "/api/v1/api-keys/{api_key_id}",
                                 "/api/v1/chats/widget/chat", "/api/v1/tenants/{tenant_id}",
                                 "/api/v1/tenants/{tenant_id}/embed-snippet", "/api/v1/stats/usage",
                                 "/api/v1/billing/checkout", "/api/v1/billing/webhook", "/api/auth/login",
                                 "/api/auth/refresh", "/api/sessions", "/api/sessions/{session_id}",
                                 "/api/history/search", "/api/settings"}
    assert "429" in doc["paths"]["/api/v1/auth/login"]["post"]["responses"]  # sign-in is limited per address
    assert set(doc["paths"]["/v1/users/{platform}/{username}/llm-config"]) == {"get", "head"}
    batch = doc["components"]["schemas"]["BatchRequest"]
    assert batch["properties"]["users"]["maxItems"] == 100 and batch["additionalProperties"] is False
    error = doc["components"]["schemas"]["ErrorResponse"]
    assert set(error["properties"]) == {"status", "error"}
    get = doc["paths"]["/v1/users/{platform}/{username}/llm-config"]["get"]
    assert get["security"] == [{"bearerAuth": []}] and doc["paths"]["/health"]["get"]["security"] == []
    assert {p["name"]: p["in"] for p in get["parameters"]} == {
        "platform": "path", "username": "path", "mask_api_key": "query", "include_system_prompt": "query"}
    assert set(get["responses"]) == {"200", "400", "401", "403", "404", "429", "503"}
    assert "X-RateLimit-Remaining" in get["responses"]["200"]["headers"]
    # Spec 002's operations answer in its envelope, errors included.
    status = doc["paths"]["/api/v1/tasks/{id}/status"]["patch"]
    assert set(status["responses"]) == {"200", "400", "401", "403", "404", "409", "422", "429", "503"}
    assert status["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TaskErrorResponse"}
    assert set(doc["components"]["schemas"]["TaskEnvelope"]["properties"]) == {"success", "data", "message",
                                                                               "timestamp"}
    upload = doc["paths"]["/api/v1/contents/upload"]["post"]
    assert upload["requestBody"]["content"]["multipart/form-data"]["schema"] == {
        "$ref": "#/components/schemas/UploadForm"}
    assert doc["components"]["schemas"]["UploadForm"]["properties"]["file"]["format"] == "binary"
    # Spec 003 refuses a bad key with 403 (never 401) and counts a daily quota.
    review = doc["paths"]["/codereview"]["post"]
    assert set(review["responses"]) == {"200", "400", "403", "429", "503"}
    assert review["security"] == [{"usageKey": []}]
    assert doc["components"]["securitySchemes"]["usageKey"] == {"type": "apiKey", "in": "header", "name": "x-api-key"}
    assert review["responses"]["403"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ReviewErrorResponse"}
    assert doc["paths"]["/usagekey"]["post"]["security"] == []


def test_every_machine_route_is_in_the_document_whatever_its_prefix(app, client):
    """The routes come from the machine registry, not from a list of prefixes kept by hand."""
    from webapp.machine.registry import registry

    doc = client.get("/openapi.json").json
    served = {(rule.rule.replace("<", "{").replace(">", "}"), method.lower())
              for rule in registry(app).rules(app) for method in rule.methods - {"OPTIONS", "HEAD"}}
    documented = {(path, method) for path, item in doc["paths"].items() for method in item if method != "head"}
    assert len(served) >= 7 and served == documented


def test_a_machine_view_must_declare_its_operation_and_scopes():
    from webapp.machine.blueprint import MachineBlueprint
    from webapp.machine.credentials import BearerToken
    from webapp.machine.declarations import operation, requires
    from webapp.machine.families import LLM

    bp = MachineBlueprint("undeclared", __name__, family=LLM, credentials=[BearerToken("service")])
    with pytest.raises(TypeError, match="needs an @operation"):
        bp.add_url_rule("/v1/x", view_func=requires("llm-config:read")(lambda: "x"), endpoint="x")
    with pytest.raises(TypeError, match="needs @requires"):
        bp.add_url_rule("/v1/y", view_func=operation("Y", "y")(lambda: "y"), endpoint="y")


@pytest.mark.parametrize("path, marker", [("/docs", "swagger-ui"), ("/redoc", 'id="redoc"')])
def test_docs_pages_load_pinned_assets_with_sri(client, path, marker):
    response = client.get(path)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and marker in html and 'integrity="sha384-' in html
    assert "/openapi.json" in html and "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_api_never_5xx_and_always_matches_its_schema(app_env):
    """schemathesis generates valid and invalid requests for every operation and runs its checks
    (no server error, status codes, content types and bodies as documented, auth enforced ...).

    Driven through its Python API: its pytest plugin does not load on this pytest.
    """
    app_env.update(API_RATE_LIMITS="100000/minute;1000000/hour", API_INVALID_TOKEN_LIMIT="100000/minute",
                   AUTH_RATE_LIMIT="100000/minute", TASK_RATE_LIMITS="100000/minute",
                   TASK_LOG_LINES_LIMIT="10000000/minute", USAGE_KEY_REQUEST_LIMIT="100000/minute",
                   REVIEW_RATE_LIMITS="100000/minute",
                   # Billing set up (an unreachable Stripe: no fuzzing credential may start a checkout),
                   # so its answers are the checked 400s and 403s, not billing-is-off 503s.
                   STRIPE_SECRET_KEY="sk_test_fuzz", STRIPE_API_BASE="http://127.0.0.1:9",
                   STRIPE_WEBHOOK_SECRET="whsec_fuzz", STRIPE_PRICES='{"PRO_MONTHLY": "price_fuzz"}')
    app = create_app(env=app_env)
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI, api_key=OPENAI_KEY)
    set_config(app, make_user(app, "lm@example.com", gitlab="lm"), {"provider": "lmstudio"})
    make_user(app, "empty@example.com", github="empty")
    _, raw = make_token(app)
    task_id = app.test_client().post("/api/v1/tasks", json={"title": "fuzzed", "user": "github:octo"},
                                     headers=bearer(raw)).json["data"]["id"]
    app.test_client().post("/usagekey", json={"username": "Fuzz", "email": "fuzz@example.com"})
    usage_key = app.test_cli_runner().invoke(args=["usage-keys", "approve", "fuzz@example.com", "--quota", "1000000"]
                                             ).output.strip().splitlines()[-1]
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 46  # every documented operation but /openapi.json, which schemathesis leaves out
    statuses = []

    for operation in operations:
        strategies = [operation.as_strategy(), *operation.get_strategies_from_examples()]
        negative = [operation.as_strategy(GenerationMode.NEGATIVE)]
        if "{username}" in operation.path:
            # Real users too, so successful answers are generated and checked against the schema.
            strategies += [operation.as_strategy(path_parameters={"platform": "github", "username": "octo"}),
                           operation.as_strategy(path_parameters={"platform": "gitlab", "username": "lm"})]
        real_task = None
        if "{id}" in operation.path:  # a real task, so its answers (and 409s, 422s) are checked too
            real_task = operation.as_strategy(path_parameters={"id": task_id})
            strategies.append(real_task)
        for strategy in strategies + negative:
            # Invalid inputs must still never 5xx and answers must match the schema. The
            # "negative data rejected" check itself is left out for them: it counts unknown query
            # parameters (which this API ignores, as most do) and the Authorization header we add
            # back to every call as invalid; the 4xx answers to bad paths, bodies and flags are
            # asserted one by one in test_api_llm.py.
            excluded = [negative_data_rejection] if strategy in negative else []
            if operation.label in ("POST /api/v1/auth/register", "POST /api/v1/tasks", "GET /api/v1/tasks",
                                   "POST /usagekey", "POST /codereview", "GET /api/v1/contents",
                                   "POST /api/v1/contents/upload", "DELETE /api/v1/contents/{file_id}",
                                   "POST /api/v1/chats/rag", "GET /api/v1/api-keys", "POST /api/v1/api-keys",
                                   "DELETE /api/v1/api-keys/{api_key_id}", "POST /api/v1/chats/widget/chat",
                                   "GET /api/v1/tenants/{tenant_id}", "GET /api/v1/tenants/{tenant_id}/embed-snippet",
                                   "GET /api/v1/stats/usage", "POST /api/v1/billing/checkout",
                                   "POST /api/v1/billing/webhook", "PUT /api/settings", "GET /api/history/search",
                                   "POST /api/auth/login", "POST /api/sessions"):
                # Checked beyond what JSON Schema can say, so a schema-valid request may still get its
                # documented 422: a password's strength and an address's form (test_api_auth.py);
                # whether `user` may be left out, which depends on whose credential it is, and a
                # cursor, which only this API can make (test_api_tasks.py); an e-mail address, Base64
                # and a supported language (test_usage_keys.py, test_code_review.py); documents belong
                # to a person's organisation (documents, chat, provider keys, the organisation), and
                # the fuzzing credentials are a service token of no one and a usage key, not a widget
                # key (test_contents.py, test_rag_chat.py, test_widget.py); dates are read as ISO 8601,
                # billing needs Stripe and the webhook its signature (test_billing_stats.py); spec 004's
                # settings refuse fields they do not know, its search dates in order, its sign-in a
                # wrong password, its sessions control characters (test_workspace_api.py).
                excluded.append(positive_data_acceptance)
            if strategy is real_task:
                # A valid request the task's state refuses (a finished task's status: 409) is right.
                excluded.append(positive_data_acceptance)

            @given(case=strategy)
            @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def run(case):
                response = case.call_and_validate(headers={**bearer(raw), "x-api-key": usage_key},
                                                  excluded_checks=excluded)
                statuses.append((operation.label, response.status_code))
                assert response.status_code < 500

            try:
                run()
            except Unsatisfiable:  # e.g. no invalid variant exists for an operation without inputs
                continue
    assert len(statuses) > 200
    # The successful shapes were really exercised, not only the errors.
    assert ("GET /v1/users/{platform}/{username}/llm-config", 200) in statuses
    assert ("GET /config/{platform}/{username}", 200) in statuses
    assert ("POST /v1/users/llm-configs/batch", 200) in statuses
    assert ("GET /api/v1/tasks/{id}", 200) in statuses and ("POST /api/v1/tasks/{id}/logs", 201) in statuses
    assert ("POST /usagekey", 200) in statuses
