"""The agent-side client (clients/python) against the real server: data, cache, typed errors, retries, fallback."""

import time

import pytest
from agentdesk_client import (
    AgentDeskClient,
    AuthenticationError,
    ConfigNotFoundError,
    ForbiddenError,
    InvalidRequestError,
    RateLimitedError,
    UnreachableError,
    UserNotFoundError,
    load_config,
)

from tests.api_helpers import OPENAI, OPENAI_KEY, make_token, make_user, set_config
from webapp.accounts.models import User
from webapp.db.orm import db

FALLBACK_ENV = {"LLM_PROVIDER": "ollama", "OLLAMA_ENDPOINT": "http://gpu-box:11434", "OLLAMA_MODEL": "qwen3",
                "FUNCTION_CALLING": "false"}


@pytest.fixture
def served(live_server_factory):
    def start(**settings):
        server = live_server_factory(**settings)
        app = server.app
        make_user(app, "admin@example.com", admin=True)
        octo = make_user(app, "octo@example.com", github="notfolder")
        set_config(app, octo, OPENAI, api_key=OPENAI_KEY)
        make_user(app, "empty@example.com", gitlab="empty")
        _, token = make_token(app)
        return server, token, octo

    return start


def audited_calls(app):
    from webapp.audit.models import AuditEvent
    from webapp.db.orm import db

    with app.app_context():
        return db.session.scalar(db.select(db.func.count()).select_from(AuditEvent).where(AuditEvent.action.like("api.%")))


def test_fetch_returns_spec_data_and_caches_it(served):
    server, token, _ = served()
    client = AgentDeskClient(f"{server.url}/v1", token, env={})
    data = client.fetch_llm_config("github", "notfolder")
    assert data["user_id"] == "github:notfolder" and data["llm_config"]["openai"]["api_key"] == OPENAI_KEY
    assert client.fetch_llm_config("github", "notfolder") == data
    assert audited_calls(server.app) == 1  # the second answer came from the cache
    client.cache.ttl = 0
    client.fetch_llm_config("github", "notfolder")
    assert audited_calls(server.app) == 2


def test_typed_errors(served):
    server, token, octo = served()
    client = AgentDeskClient(f"{server.url}/v1", token, env={})
    with pytest.raises(UserNotFoundError) as missing:
        client.fetch_llm_config("github", "nobody")
    assert missing.value.status == 404 and missing.value.details == {"platform": "github", "username": "nobody"}
    with pytest.raises(ConfigNotFoundError):
        client.fetch_llm_config("gitlab", "empty")
    with pytest.raises(InvalidRequestError):
        client.fetch_llm_config("bitbucket", "someone")
    with pytest.raises(AuthenticationError):
        AgentDeskClient(f"{server.url}/v1", "adk_svc_wrong", env={}).fetch_llm_config("github", "notfolder")
    other = make_user(server.app, "other@example.com", github="other")
    _, personal = make_token(server.app, kind="personal", owner_id=other)
    with pytest.raises(UserNotFoundError):  # to a personal token, everyone else is unknown
        AgentDeskClient(f"{server.url}/v1", personal, env={}).fetch_llm_config("github", "notfolder")
    with server.app.app_context():
        db.session.get(User, other).active = False
        db.session.commit()
    with pytest.raises(ForbiddenError):
        client.fetch_llm_config("github", "other")


def test_429_is_retried_after_the_servers_retry_after(served):
    server, token, _ = served(API_RATE_LIMITS="1/second;1000/hour")
    waits = []

    def sleep(seconds):
        waits.append(seconds)
        time.sleep(seconds)

    client = AgentDeskClient(f"{server.url}/v1", token, env={}, sleep=sleep)
    client.fetch_llm_config("github", "notfolder", use_cache=False)
    data = client.fetch_llm_config("github", "notfolder", use_cache=False)  # 429 first, then 200
    assert data["user_id"] == "github:notfolder"
    assert waits == [1.0]


def test_a_retry_after_longer_than_we_will_wait_raises_rate_limited(served):
    server, token, _ = served(API_RATE_LIMITS="1/minute;1000/hour")
    client = AgentDeskClient(f"{server.url}/v1", token, env={}, max_retry_wait=5, sleep=lambda s: None)
    client.fetch_llm_config("github", "notfolder")
    with pytest.raises(RateLimitedError) as limited:
        client.fetch_llm_config("github", "notfolder", use_cache=False)
    assert 50 <= limited.value.retry_after <= 60 and limited.value.code == "RATE_LIMIT_EXCEEDED"


def test_5xx_is_retried_then_falls_back_to_the_environment(served):
    server, token, _ = served(RATELIMIT_STORAGE_URI="redis://127.0.0.1:9/0")  # the API answers 503
    waits = []
    client = AgentDeskClient(f"{server.url}/v1", token, env=FALLBACK_ENV, retries=2, backoff=0.01,
                             sleep=waits.append)
    data = client.fetch_llm_config("github", "notfolder")
    assert waits == [0.01, 0.02]
    assert data == {"fallback": True, "llm_config": {"provider": "ollama", "function_calling": False,
                                                     "ollama": {"endpoint": "http://gpu-box:11434",
                                                                "model": "qwen3", "max_token": 32768}}}


def test_unreachable_server_falls_back_or_raises():
    client = AgentDeskClient("http://127.0.0.1:9/v1", "adk_svc_x", env=FALLBACK_ENV, retries=1, backoff=0,
                             sleep=lambda s: None)
    assert client.fetch_llm_config("github", "x")["llm_config"]["provider"] == "ollama"
    strict = AgentDeskClient("http://127.0.0.1:9/v1", "adk_svc_x", env={}, retries=0, fallback=False)
    with pytest.raises(UnreachableError):
        strict.fetch_llm_config("github", "x")


def test_load_config_merges_the_users_settings_into_config_yaml(served, tmp_path):
    server, token, _ = served()
    path = tmp_path / "config.yaml"
    path.write_text("llm:\n  provider: lmstudio\nmax_llm_process_num: 5\ngithub:\n  owner: notfolder\n"
                    "rabbitmq:\n  host: mq\n", encoding="utf-8")
    env = {"USE_USER_MANAGEMENT_API": "true", "USER_MANAGEMENT_API_URL": f"{server.url}/v1",
           "USER_MANAGEMENT_API_TOKEN": token, "TASK_SOURCE": "github"}
    config = load_config(path, env=env)
    assert config["llm"]["provider"] == "openai" and config["llm"]["openai"]["model"] == "gpt-4o"
    assert config["system_prompt"] == OPENAI["system_prompt"] and config["max_llm_process_num"] == 1000
    assert config["rabbitmq"] == {"host": "mq"}
    untouched = load_config(path, env={"USE_USER_MANAGEMENT_API": "false"})
    assert untouched["llm"] == {"provider": "lmstudio"} and untouched["max_llm_process_num"] == 5


def test_missing_token_is_a_clear_error():
    from agentdesk_client import UserManagementAPIError

    with pytest.raises(UserManagementAPIError, match="USER_MANAGEMENT_API_TOKEN is not set"):
        AgentDeskClient("http://127.0.0.1:9/v1", env={})
