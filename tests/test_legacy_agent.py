"""The deployed coding agent (notfolder/coding_agent) against a live AgentDesk.

`agent_fetch_user_config` behaves as the agent's `_fetch_config_from_api` does: GET
{url}/config/{platform}/{username} with the Bearer key, raise_for_status(), then merge `llm` into its
config and read `llm[provider]`, `system_prompt` and `max_llm_process_num`. Its caller,
`fetch_user_config`, catches only ValueError, TypeError and AttributeError: anything else raised
here (an HTTPError for any 4xx, a KeyError for a missing field) stops the agent's task loop.
"""

from __future__ import annotations

import pytest
import requests

from tests.api_helpers import OPENAI, OPENAI_KEY, make_token, make_user, set_config
from webapp.audit.models import AuditEvent
from webapp.db.orm import db

AGENT_CONFIG = {"llm": {"provider": "openai", "openai": {"model": "from-config-yaml"}},
                "system_prompt": "from config.yaml", "max_llm_process_num": 1}


def agent_fetch_user_config(base_url: str, api_key: str, platform: str, username: str) -> dict:
    config = {key: (dict(value) if isinstance(value, dict) else value) for key, value in AGENT_CONFIG.items()}
    response = requests.get(f"{base_url}/config/{platform}/{username}",
                            headers={"Authorization": f"Bearer {api_key}"}, timeout=5)
    response.raise_for_status()
    data = response.json()
    if data.get("status") != "success":
        raise ValueError(f"API returned error: {data.get('message')}")
    api_data = data["data"]
    config["llm"].update(api_data["llm"])
    config["system_prompt"] = api_data["system_prompt"]
    provider = config["llm"]["provider"]
    return {"provider": provider, "block": config["llm"][provider], "system_prompt": config["system_prompt"],
            "max_llm_process_num": api_data["max_llm_process_num"]}


@pytest.fixture
def server(live_server_factory):
    running = live_server_factory()
    app = running.app
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI, api_key=OPENAI_KEY)
    make_user(app, "fresh@example.com", github="fresh")  # a known user who never saved settings
    running.token = make_token(app)[1]
    return running


def _defaults_served(app) -> list:
    with app.app_context():
        return [(e.target, e.details.get("defaults_served")) for e in
                db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "api.legacy_config")
                                   .order_by(AuditEvent.id))]


def test_the_agent_keeps_running_for_configured_unknown_and_unconfigured_users(server):
    configured = agent_fetch_user_config(server.url, server.token, "github", "octo")
    assert configured == {"provider": "openai", "system_prompt": OPENAI["system_prompt"], "max_llm_process_num": 1000,
                          "block": {"api_key": OPENAI_KEY, "base_url": "https://api.openai.com/v1", "model": "gpt-4o",
                                    "max_token": 40960}}
    # No instance default yet: the built-in defaults, still in the shape the agent indexes.
    for username in ("nobody-at-all", "fresh"):
        served = agent_fetch_user_config(server.url, server.token, "github", username)
        assert served["provider"] == "openai" and served["block"]["model"] == "gpt-4o"
        assert served["block"]["base_url"] == "https://api.openai.com/v1" and served["max_llm_process_num"] == 1000
    assert _defaults_served(server.app) == [("github:octo", None), ("github:nobody-at-all", "unknown_user"),
                                            ("github:fresh", "no_settings")]


def test_unknown_users_get_the_instance_default_an_admin_set(server):
    set_config(server.app, None, {"provider": "ollama", "ollama_model": "qwen3", "system_prompt": "house rules",
                                  "max_llm_process_num": 30})
    served = agent_fetch_user_config(server.url, server.token, "gitlab", "someone-new")
    assert served == {"provider": "ollama", "system_prompt": "house rules", "max_llm_process_num": 30,
                      "block": {"endpoint": "http://localhost:11434", "model": "qwen3", "max_token": 32768}}


def test_only_the_legacy_path_serves_defaults(server):
    response = requests.get(f"{server.url}/v1/users/github/nobody-at-all/llm-config",
                            headers={"Authorization": f"Bearer {server.token}"}, timeout=5)
    assert response.status_code == 404 and response.json()["error"]["code"] == "USER_NOT_FOUND"


def test_a_deactivated_user_is_still_refused(server):
    from webapp.accounts.models import User

    with server.app.app_context():
        db.session.scalar(db.select(User).where(User.email == "octo@example.com")).active = False
        db.session.commit()
    with pytest.raises(requests.HTTPError) as refused:
        agent_fetch_user_config(server.url, server.token, "github", "octo")
    assert refused.value.response.status_code == 403
