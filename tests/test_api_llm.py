"""Spec 000 over HTTP: shapes, every error code, HEAD, batch, the legacy /config path, audit."""

import json
import logging

import pytest

from tests.api_helpers import OPENAI, OPENAI_KEY, bearer, dbapi_statements, make_token, make_user, selects, set_config
from webapp.audit.models import AuditEvent
from webapp.db.orm import db
from webapp.tokens.models import ApiToken

DATA_KEYS = {"user_id", "platform", "username", "llm_config", "system_prompt", "max_llm_process_num",
             "created_at", "updated_at"}


@pytest.fixture
def octo(app):
    make_user(app, "admin@example.com", admin=True)
    user_id = make_user(app, "octo@example.com", github="NotFolder", gitlab="octo-gl")
    set_config(app, user_id, OPENAI, api_key=OPENAI_KEY)
    return user_id


@pytest.fixture
def token(app):
    return make_token(app)[1]


def test_get_returns_spec_000_shape(client, octo, token):
    response = client.get("/v1/users/github/notfolder/llm-config", headers=bearer(token))
    assert response.status_code == 200
    body = response.json
    assert set(body) == {"status", "data"} and body["status"] == "success"
    data = body["data"]
    assert set(data) == DATA_KEYS
    assert (data["user_id"], data["platform"], data["username"]) == ("github:NotFolder", "github", "NotFolder")
    assert data["llm_config"] == {
        "provider": "openai", "function_calling": True, "lmstudio": None, "ollama": None,
        "openai": {"api_key": OPENAI_KEY, "base_url": "https://api.openai.com/v1", "model": "gpt-4o",
                   "max_token": 40960},
    }
    assert data["system_prompt"] == "あなたは優秀なコーディングアシスタントです"
    assert data["max_llm_process_num"] == 1000
    assert data["created_at"].endswith("Z") and data["updated_at"].endswith("Z")


def test_gitlab_identity_and_case_insensitive_login(client, octo, token):
    assert client.get("/v1/users/gitlab/OCTO-GL/llm-config", headers=bearer(token)).json["data"]["user_id"] == "gitlab:octo-gl"


def test_mask_and_system_prompt_options(client, octo, token):
    data = client.get("/v1/users/github/NotFolder/llm-config?mask_api_key=true&include_system_prompt=false",
                      headers=bearer(token)).json["data"]
    assert data["llm_config"]["openai"]["api_key"] == "sk-proj-****...WXYZ"
    assert "system_prompt" not in data
    response = client.get("/v1/users/github/NotFolder/llm-config?mask_api_key=maybe", headers=bearer(token))
    assert response.status_code == 400 and response.json["error"]["code"] == "INVALID_REQUEST"


def test_head_answers_200_404_401_without_a_body(client, octo, token):
    ok = client.head("/v1/users/github/NotFolder/llm-config", headers=bearer(token))
    assert ok.status_code == 200 and ok.data == b"" and ok.content_type == "application/json"
    get = client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(token))
    assert ok.headers["Content-Length"] == get.headers["Content-Length"] != "0"  # what GET would send
    assert client.head("/v1/users/github/nobody/llm-config", headers=bearer(token)).status_code == 404
    assert client.head("/v1/users/github/NotFolder/llm-config").status_code == 401


@pytest.mark.parametrize("path, status, code", [
    ("/v1/users/github/nobody/llm-config", 404, "USER_NOT_FOUND"),
    ("/v1/users/bitbucket/someone/llm-config", 400, "INVALID_PLATFORM"),
    ("/v1/users/github/bad%20name!/llm-config", 400, "INVALID_USERNAME"),
])
def test_error_codes(client, octo, token, path, status, code):
    response = client.get(path, headers=bearer(token))
    assert response.status_code == status
    assert response.json["status"] == "error" and response.json["error"]["code"] == code
    assert response.json["error"]["message"]


def test_user_not_found_body_matches_the_spec(client, octo, token):
    assert client.get("/v1/users/github/notfolder2/llm-config", headers=bearer(token)).json == {
        "status": "error",
        "error": {"code": "USER_NOT_FOUND", "message": "User 'github:notfolder2' not found",
                  "details": {"platform": "github", "username": "notfolder2"}},
    }


def test_config_not_found_then_inherited_from_the_instance_default(client, app, token):
    make_user(app, "admin@example.com", admin=True)
    make_user(app, "new@example.com", github="newbie")
    response = client.get("/v1/users/github/newbie/llm-config", headers=bearer(token))
    assert response.status_code == 404 and response.json["error"]["code"] == "CONFIG_NOT_FOUND"
    assert response.json["error"]["message"] == "LLM configuration not found for user 'github:newbie'"
    set_config(app, None, {"provider": "ollama", "ollama_model": "qwen3", "system_prompt": "default prompt"})
    data = client.get("/v1/users/github/newbie/llm-config", headers=bearer(token)).json["data"]
    assert data["llm_config"]["provider"] == "ollama"
    assert data["llm_config"]["ollama"] == {"endpoint": "http://localhost:11434", "model": "qwen3", "max_token": 32768}
    assert data["llm_config"]["openai"] is None and data["system_prompt"] == "default prompt"


UNAUTHORIZED = {"status": "error", "error": {"code": "UNAUTHORIZED", "message": "Invalid or missing API token"}}


def test_missing_malformed_unknown_revoked_and_expired_tokens_get_the_same_401(client, app, octo, token):
    token_id, revoked = make_token(app)
    with app.app_context():
        row = db.session.get(ApiToken, token_id)
        row.status = "revoked"
        expired_id, expired = make_token(app)
        db.session.execute(db.update(ApiToken).where(ApiToken.id == expired_id)
                           .values(expires_at=db.func.current_timestamp()))
        db.session.commit()
    headers = [{}, {"Authorization": "Basic dXNlcjpwdw=="}, {"Authorization": "Bearer not-a-token"},
               bearer(token[:-1] + ("A" if token[-1] != "A" else "B")), bearer(revoked), bearer(expired)]
    for header in headers:
        response = client.get("/v1/users/github/NotFolder/llm-config", headers=header)
        assert response.status_code == 401 and response.json == UNAUTHORIZED, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_personal_token_reads_only_its_owner(client, app, octo):
    other = make_user(app, "other@example.com", github="other")
    set_config(app, other, {"provider": "lmstudio", "lmstudio_model": "qwen3-30b"})
    _, mine = make_token(app, kind="personal", owner_id=octo)
    assert client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(mine)).status_code == 200
    # Someone else looks exactly like nobody: a personal token cannot tell who has an account.
    other_user = client.get("/v1/users/github/other/llm-config", headers=bearer(mine))
    nobody = client.get("/v1/users/github/nobody/llm-config", headers=bearer(mine))
    assert other_user.status_code == nobody.status_code == 404
    assert other_user.json["error"]["code"] == nobody.json["error"]["code"] == "USER_NOT_FOUND"
    batch = client.post("/v1/users/llm-configs/batch", headers=bearer(mine), json={"users": [
        {"platform": "github", "username": "other"}, {"platform": "github", "username": "NotFolder"}]})
    assert batch.status_code == 200 and batch.json["data"]["not_found"] == ["github:other"]
    legacy = client.get("/config/github/other", headers=bearer(mine)).json["data"]
    assert legacy["llm"]["provider"] == "openai"  # the defaults, as for anyone unknown; not other's lmstudio


def test_token_without_the_scope_is_forbidden(client, app, octo):
    _, raw = make_token(app, scopes=[])
    response = client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(raw))
    assert response.status_code == 403 and "llm-config:read" in response.json["error"]["message"]


def test_deactivated_user_is_forbidden(client, app, octo, token):
    from webapp.accounts.models import User

    with app.app_context():
        db.session.get(User, octo).active = False
        db.session.commit()
    response = client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(token))
    assert response.status_code == 403 and "deactivated" in response.json["error"]["message"]


def test_legacy_config_path_has_the_shape_the_agent_reads(client, octo, token):
    body = client.get("/config/github/NotFolder", headers=bearer(token)).json
    assert body["status"] == "success" and set(body["data"]) == {"llm", "system_prompt", "max_llm_process_num"}
    assert body["data"]["llm"]["openai"]["api_key"] == OPENAI_KEY
    assert body["data"]["max_llm_process_num"] == 1000
    # Unknown users get the defaults there (tests/test_legacy_agent.py); /v1 keeps spec 000's 404.
    assert client.get("/v1/users/github/nobody/llm-config", headers=bearer(token)).status_code == 404


def test_batch_returns_configs_and_not_found(client, app, octo, token):
    response = client.post("/v1/users/llm-configs/batch", headers=bearer(token), json={
        "users": [{"platform": "github", "username": "notfolder"}, {"platform": "gitlab", "username": "nobody"},
                  {"platform": "gitlab", "username": "octo-gl"}],
        "include_system_prompt": False})
    assert response.status_code == 200
    data = response.json["data"]
    assert [c["user_id"] for c in data["configs"]] == ["github:NotFolder", "gitlab:octo-gl"]
    assert all("system_prompt" not in c and set(c) == DATA_KEYS - {"system_prompt"} for c in data["configs"])
    assert data["not_found"] == ["gitlab:nobody"]


@pytest.mark.parametrize("body, code", [
    ({"users": []}, "INVALID_REQUEST"),
    ({"users": [{"platform": "github", "username": f"u{i}"} for i in range(101)]}, "INVALID_REQUEST"),
    ({"users": [{"platform": "github"}]}, "INVALID_REQUEST"),
    ({"users": "octo"}, "INVALID_REQUEST"),
    ({"users": [{"platform": "github", "username": "ok"}, {"platform": "svn", "username": "x"}]}, "INVALID_PLATFORM"),
    ({"users": [{"platform": "github", "username": "no spaces"}]}, "INVALID_USERNAME"),
])
def test_batch_rejects_bad_bodies_with_400(client, octo, token, body, code):
    response = client.post("/v1/users/llm-configs/batch", headers=bearer(token), json=body)
    assert response.status_code == 400 and response.json["error"]["code"] == code


def test_batch_rejects_non_json(client, octo, token):
    response = client.post("/v1/users/llm-configs/batch", headers=bearer(token), data="users=1",
                           content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400 and "JSON body" in response.json["error"]["message"]


def test_batch_uses_a_fixed_number_of_queries(client, app, octo, token):
    """Counted at the driver: the token, the instance default, the users' rows, whatever the size."""
    for n in range(30):
        set_config(app, make_user(app, f"u{n}@example.com", github=f"user{n}"), {"provider": "ollama"})

    def count(users):
        with dbapi_statements(app) as statements:
            response = client.post("/v1/users/llm-configs/batch", headers=bearer(token), json={"users": users})
            assert response.status_code == 200
        return selects(statements), response.json["data"]

    one, data = count([{"platform": "github", "username": "user0"}])
    assert [c["user_id"] for c in data["configs"]] == ["github:user0"]
    many, data = count([{"platform": "github", "username": f"user{n}"} for n in range(30)] +
                       [{"platform": "gitlab", "username": f"missing{n}"} for n in range(70)])
    assert len(data["configs"]) == 30 and len(data["not_found"]) == 70
    assert len(one) == len(many) == 3, many


def test_a_single_get_is_one_statement_for_the_token_and_the_settings(client, app, octo, token):
    with dbapi_statements(app) as statements:
        for path in ("/v1/users/github/NotFolder/llm-config", "/config/github/NotFolder", "/config/github/nobody"):
            assert client.get(path, headers=bearer(token)).status_code == 200
    assert len(selects(statements)) == 3 + 1, statements  # one each; the unknown user's defaults: one more
    from webapp.tokens.service import generate_raw

    with dbapi_statements(app) as statements:  # a well-formed unknown token: the one lookup, nothing more
        assert client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(generate_raw("service"))).status_code == 401
    assert len(selects(statements)) == 1
    altered = token[:-1] + ("x" if token[-1] != "x" else "y")  # another last character: a bad checksum
    with dbapi_statements(app) as statements:  # a malformed one: not even that
        assert client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(altered)).status_code == 401
    assert selects(statements) == []


def test_every_call_is_audited_with_token_target_ip_status_latency(client, app, octo, token):
    client.get("/v1/users/github/NotFolder/llm-config", headers=bearer(token))
    client.get("/v1/users/github/nobody/llm-config", headers=bearer(token))
    client.get("/v1/users/github/NotFolder/llm-config")
    client.get("/v1/users/github/=1+2/llm-config", headers=bearer(token))
    with app.app_context():
        rows = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("api.%"))
                                  .order_by(AuditEvent.id)).all()
        seen = [(e.action, e.target, e.status_code, e.ip_address, e.actor_token_id is not None) for e in rows]
        assert all(e.latency_ms is not None and e.latency_ms >= 0 for e in rows)
        assert rows[0].actor_label.startswith("service-token (adk_svc_")
    assert seen == [("api.get_llm_config", "github:NotFolder", 200, "127.0.0.1", True),
                    ("api.get_llm_config", "github:nobody", 404, "127.0.0.1", True),
                    # A path that failed validation never becomes the target. (Refused anonymous
                    # calls are counted per address and minute: tests/test_hardening.py.)
                    ("api.get_llm_config", "", 400, "127.0.0.1", True)]


def test_access_log_is_one_json_line_per_call(client, octo, token):
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = logging.getLogger("agentdesk.access")
    logger.addHandler(handler)
    try:
        client.get("/v1/users/github/NotFolder/llm-config", headers={**bearer(token), "User-Agent": "CodingAgent/1.0"})
    finally:
        logger.removeHandler(handler)
    line = json.loads(records[-1])
    assert set(line) == {"timestamp", "method", "path", "status", "response_time_ms", "user_agent", "ip_address"}
    assert (line["path"], line["status"], line["user_agent"]) == ("/v1/users/github/NotFolder/llm-config", 200,
                                                                  "CodingAgent/1.0")
    assert OPENAI_KEY not in records[-1]


def test_unknown_api_method_gets_the_envelope(client, token):
    response = client.delete("/v1/users/github/x/llm-config", headers=bearer(token))
    assert response.status_code == 405 and response.json["status"] == "error"


def test_error_log_line_for_api_errors(client, octo, token):
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record)
    logger = logging.getLogger("agentdesk.api_errors")
    logger.addHandler(handler)
    try:
        client.get("/v1/users/github/notfolder/llm-config", headers=bearer(token))
        client.get("/v1/users/github/nobody/llm-config", headers=bearer(token))
    finally:
        logger.removeHandler(handler)
    assert len(records) == 1 and records[0].levelname == "WARNING"
    line = json.loads(records[0].getMessage())
    assert line["error_code"] == "USER_NOT_FOUND" and line["level"] == "WARNING"
    assert (line["platform"], line["username"], line["message"]) == ("github", "nobody", "User 'github:nobody' not found")
