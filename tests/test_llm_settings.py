"""My LLM settings and the instance default, in the browser's terms: forms, HTMX swaps, key handling."""

import re

import pytest

from tests.api_helpers import bearer, make_token
from tests.conftest import csrf_token, logout, post, register
from webapp.db.orm import db
from webapp.llm_configs.models import LLMConfig

HX = {"HX-Request": "true"}
KEY = "sk-proj-myverysecretkey0123456789ABCD"


def errors(response) -> dict:
    html = response.get_data(as_text=True)
    return {m[0]: re.sub(r"<[^>]+>", "", m[1]).strip()
            for m in re.findall(r'<ul class="errors" id="([a-z_]+)-error">(.*?)</ul>', html, re.S)}


def rows(app) -> list[dict]:
    with app.app_context():
        return [{c.name: getattr(r, c.name) for c in LLMConfig.__table__.columns}
                for r in db.session.scalars(db.select(LLMConfig).order_by(LLMConfig.id))]


@pytest.fixture
def user(client):
    """The first account (admin) with a GitHub login, signed in."""
    register(client, "alice@example.com", "alice")
    from webapp.accounts.logins import reserve_login
    from webapp.accounts.models import User

    with client.application.app_context():
        alice = db.session.scalar(db.select(User))
        reserve_login(alice, "github", "alice-gh")
        db.session.commit()
    return client


def save(client, data, path="/settings/llm", headers=HX):
    return post(client, path, data, headers=headers)


def test_page_and_fragments_come_from_the_same_urls(user):
    page = user.get("/settings/llm").get_data(as_text=True)
    assert "<html" in page and 'id="llm-form"' in page and 'name="openai_base_url"' in page
    fragment = user.get("/settings/llm/provider-fields?provider=ollama", headers=HX)
    html = fragment.get_data(as_text=True)
    assert "<html" not in html and html.lstrip().startswith('<fieldset id="provider-fields"')
    assert 'name="ollama_endpoint"' in html and 'name="openai_base_url"' not in html
    assert "HX-Request" in fragment.headers["Vary"]


def test_save_then_agents_read_it(user, app):
    response = save(user, {"provider": "openai", "openai_model": "gpt-4o-mini", "openai_api_key": KEY,
                           "function_calling": "false", "max_llm_process_num": "50", "system_prompt": "Be brief."})
    assert response.status_code == 200 and "Settings saved." in response.get_data(as_text=True)
    _, raw = make_token(app)
    data = app.test_client().get("/v1/users/github/alice-gh/llm-config", headers=bearer(raw)).json["data"]
    assert data["llm_config"]["openai"]["model"] == "gpt-4o-mini"
    assert data["llm_config"]["openai"]["api_key"] == KEY and data["llm_config"]["function_calling"] is False
    assert data["max_llm_process_num"] == 50 and data["system_prompt"] == "Be brief."


def test_the_key_never_goes_back_to_the_browser(user, app):
    save(user, {"provider": "openai", "openai_api_key": KEY})
    for path in ("/settings/llm", "/settings/llm/provider-fields?provider=openai", "/admin/audit", "/"):
        html = user.get(path).get_data(as_text=True)
        assert KEY not in html and KEY[8:20] not in html, path
    assert "sk-proj-****...ABCD" in user.get("/settings/llm").get_data(as_text=True)
    assert rows(app)[0]["openai_api_key"].startswith("gAAAA")  # a Fernet token, not the key


@pytest.mark.parametrize("data, field, message", [
    ({"provider": "claude"}, "provider", "valid choice"),
    ({"max_llm_process_num": "lots"}, "max_llm_process_num", "whole number"),
    ({"openai_max_token": "0"}, "openai_max_token", "from 1 to"),
    ({"openai_base_url": "ftp://example.com"}, "openai_base_url", "http://"),
    ({"ollama_endpoint": "localhost 11434", "provider": "ollama"}, "ollama_endpoint", "http://"),
])
def test_invalid_values_show_inline_errors_and_write_nothing(user, app, data, field, message):
    save(user, {"provider": "openai", "openai_model": "gpt-4o"})
    before = rows(app)
    response = save(user, data)
    assert response.status_code == 422
    assert message in errors(response)[field]
    assert rows(app) == before


def test_several_errors_are_shown_at_once(user):
    response = save(user, {"max_llm_process_num": "x", "openai_max_token": "-1", "openai_base_url": "nope"})
    assert set(errors(response)) == {"max_llm_process_num", "openai_max_token", "openai_base_url"}


def test_lmstudio_accepts_host_and_port_as_in_the_spec(user, app):
    assert save(user, {"provider": "lmstudio", "lmstudio_base_url": "localhost:1234",
                       "lmstudio_model": "qwen3-30b-a3b-mlx"}).status_code == 200
    assert rows(app)[0]["lmstudio_base_url"] == "localhost:1234"


def test_changing_the_address_requires_the_key_again(user, app):
    save(user, {"provider": "openai", "openai_api_key": KEY})
    response = save(user, {"provider": "openai", "openai_base_url": "https://other.example/v1"})
    assert response.status_code == 422 and "enter the API key again" in errors(response)["openai_api_key"]
    assert rows(app)[0]["openai_base_url"] is None
    assert save(user, {"provider": "openai", "openai_base_url": "https://other.example/v1",
                       "openai_api_key": "sk-other-0123456789"}).status_code == 200
    assert save(user, {"provider": "openai", "openai_base_url": "https://third.example/v1",
                       "clear_api_key": "y"}).status_code == 200
    assert rows(app)[0]["openai_api_key"] is None


def test_inherited_fields_are_marked_and_can_be_reset(user, app):
    save(user, {"provider": "ollama", "ollama_model": "llama3"}, path="/admin/llm-default")
    page = user.get("/settings/llm").get_data(as_text=True)
    assert "inherited" in page and "Leave empty to use the default (ollama)." in page
    save(user, {"provider": "ollama", "ollama_model": "mine"})
    html = user.get("/settings/llm").get_data(as_text=True)
    assert "/settings/llm/reset/ollama_model" in html
    response = post(user, "/settings/llm/reset/ollama_model", headers=HX)
    assert response.status_code == 200 and 'placeholder="llama3"' in response.get_data(as_text=True)
    assert rows(app)[1]["ollama_model"] is None


def test_reset_without_javascript_redirects_back(user):
    save(user, {"provider": "ollama", "ollama_model": "mine"})
    response = post(user, "/settings/llm/reset/ollama_model")
    assert response.status_code == 302 and response.location == "/settings/llm"
    assert post(user, "/settings/llm/reset/no_such_field", headers=HX).status_code == 404


def test_user_inherits_the_instance_default_field_by_field(user, app):
    save(user, {"provider": "openai", "openai_model": "gpt-4o", "openai_api_key": KEY,
                "system_prompt": "Company prompt"}, path="/admin/llm-default")
    save(user, {"openai_model": "o3-mini"})
    _, raw = make_token(app)
    data = app.test_client().get("/v1/users/github/alice-gh/llm-config", headers=bearer(raw)).json["data"]
    assert data["llm_config"]["openai"]["model"] == "o3-mini"
    assert data["llm_config"]["openai"]["api_key"] == KEY and data["system_prompt"] == "Company prompt"
    # Pointing base_url elsewhere drops the inherited key: it only goes to the host it was saved for.
    save(user, {"openai_model": "o3-mini", "openai_base_url": "https://elsewhere.example/v1"})
    data = app.test_client().get("/v1/users/github/alice-gh/llm-config", headers=bearer(raw)).json["data"]
    assert data["llm_config"]["openai"]["api_key"] == ""


def test_only_admins_edit_the_instance_default(user, app):
    logout(user)
    register(user, "bob@example.com", "bob")
    assert user.get("/admin/llm-default").status_code == 403
    assert post(user, "/admin/llm-default", {"provider": "openai"}).status_code == 403
    assert rows(app) == []


def test_save_without_javascript_redirects_with_a_flash(user):
    response = save(user, {"provider": "openai"}, headers={})
    assert response.status_code == 302 and response.location == "/settings/llm"
    assert "Settings saved." in user.get("/settings/llm").get_data(as_text=True)


def test_connection_lists_models_with_the_typed_key(user, llm_server):
    response = post(user, "/settings/llm/test", {"provider": "openai", "openai_base_url": f"{llm_server.url}/v1",
                                                 "openai_api_key": llm_server.api_key}, headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "2 models available" in html and "gpt-4o-mini" in html


def test_connection_reports_a_refused_key_and_an_unreachable_host(user, llm_server):
    html = post(user, "/settings/llm/test", {"provider": "openai", "openai_base_url": f"{llm_server.url}/v1",
                                             "openai_api_key": "sk-wrong"}, headers=HX).get_data(as_text=True)
    assert "refused the API key (401)" in html
    html = post(user, "/settings/llm/test", {"provider": "ollama", "ollama_endpoint": "http://127.0.0.1:9"},
                headers=HX).get_data(as_text=True)
    assert "Could not get a model list from 127.0.0.1:9." in html


def test_connection_to_ollama_and_lmstudio(user, llm_server):
    html = post(user, "/settings/llm/test", {"provider": "ollama", "ollama_endpoint": llm_server.url},
                headers=HX).get_data(as_text=True)
    assert "qwen3:30b" in html
    llm_server.api_key = "not-needed"  # LM Studio ignores the key; the SDK still sends a placeholder
    try:
        host_port = llm_server.url.removeprefix("http://")
        html = post(user, "/settings/llm/test", {"provider": "lmstudio", "lmstudio_base_url": host_port},
                    headers=HX).get_data(as_text=True)
        assert "gpt-4o" in html
    finally:
        llm_server.api_key = "sk-test-good-key-0000"


def test_stored_key_is_used_for_its_own_host_only(user, llm_server):
    base = f"{llm_server.url}/v1"
    save(user, {"provider": "openai", "openai_base_url": base, "openai_api_key": llm_server.api_key})
    llm_server.seen_authorization.clear()
    html = post(user, "/settings/llm/test", {"provider": "openai", "openai_base_url": base}, headers=HX).get_data(as_text=True)
    assert "2 models available" in html and llm_server.seen_authorization == [f"Bearer {llm_server.api_key}"]
    other = base.replace("127.0.0.1", "localhost")
    llm_server.seen_authorization.clear()
    html = post(user, "/settings/llm/test", {"provider": "openai", "openai_base_url": other}, headers=HX).get_data(as_text=True)
    assert "refused the API key" in html
    assert llm_server.seen_authorization == ["Bearer not-needed"]


def test_settings_pages_need_sign_in(client):
    assert client.get("/settings/llm").status_code == 302
    assert client.post("/settings/llm/test", data={"csrf_token": csrf_token(client)}).status_code == 302


def test_switching_provider_keeps_the_other_providers_values(user, app):
    post(user, "/settings/llm", {"provider": "openai", "openai_model": "gpt-4o-mini",
                                 "openai_base_url": "https://llm.example.com/v1", "openai_max_token": "2048",
                                 "openai_api_key": KEY, "function_calling": ""})
    # The page now shows Ollama's fields only: OpenAI's are not in the submission.
    response = post(user, "/settings/llm", {"provider": "ollama", "ollama_model": "qwen3", "function_calling": ""},
                    headers=HX)
    assert response.status_code == 200, errors(response)
    [row] = rows(app)
    assert (row["provider"], row["ollama_model"]) == ("ollama", "qwen3")
    assert (row["openai_model"], row["openai_base_url"], row["openai_max_token"]) == (
        "gpt-4o-mini", "https://llm.example.com/v1", 2048)
    assert row["openai_api_key"]
    # A field that is shown and left blank still means "inherit".
    post(user, "/settings/llm", {"provider": "openai", "openai_model": "", "openai_base_url": "https://llm.example.com/v1",
                                 "openai_max_token": "", "function_calling": ""})
    [row] = rows(app)
    assert row["openai_model"] is None and row["ollama_model"] == "qwen3"


@pytest.mark.parametrize("field, provider", [("lmstudio_base_url", "lmstudio"), ("ollama_endpoint", "ollama")])
def test_local_servers_addresses_follow_the_same_rules(user, app, field, provider):
    for good in ("http://localhost:11434", "https://llm.example.com/v1", "localhost:1234", "gpu-box:8080/v1"):
        response = post(user, "/settings/llm", {"provider": provider, field: good, "function_calling": ""},
                        headers=HX)
        assert response.status_code == 200, (good, errors(response))
    for bad in ("localhost", "ftp://example.com", "http://", "not a url"):
        response = post(user, "/settings/llm", {"provider": provider, field: bad, "function_calling": ""},
                        headers=HX)
        assert response.status_code == 422 and "Enter an address like" in errors(response)[field], bad


def test_model_names_have_a_sensible_length_limit(user, app):
    response = post(user, "/settings/llm", {"provider": "openai", "openai_model": "m" * 300, "function_calling": ""},
                    headers=HX)
    assert response.status_code == 422 and errors(response)["openai_model"] == "Use at most 100 characters."
    assert rows(app) == []


def test_the_page_shows_what_agents_receive_and_how_they_ask(user, app):
    post(user, "/settings/llm", {"provider": "openai", "openai_model": "gpt-4o", "openai_api_key": KEY,
                                 "function_calling": "true"})
    page = user.get("/settings/llm").get_data(as_text=True)
    assert 'curl -H "Authorization: Bearer $AGENTDESK_TOKEN" http://localhost/v1/users/github/alice-gh/llm-config' in page
    assert "&#34;api_key&#34;: &#34;sk-proj-****...ABCD&#34;" in page and KEY not in page
    assert "Testing…" in page  # Test connection's label while it runs


def test_openai_base_url_names_its_scheme_because_a_key_goes_there(user, app):
    for bad in ("api.example.com:443/v1", "gpu-box:8080/v1", "localhost"):
        response = post(user, "/settings/llm", {"provider": "openai", "openai_base_url": bad, "function_calling": ""},
                        headers=HX)
        assert response.status_code == 422 and "starting with https://" in errors(response)["openai_base_url"], bad
    response = post(user, "/settings/llm", {"provider": "openai", "openai_base_url": "http://10.0.0.5:8000/v1",
                                            "function_calling": ""}, headers=HX)
    assert response.status_code == 200


def test_sharing_the_default_key_survives_saves_that_do_not_show_it(user, app):
    def shared() -> bool:
        with app.app_context():
            return db.session.scalar(db.select(LLMConfig.share_key_with_personal_tokens)
                                     .where(LLMConfig.user_id.is_(None)))

    common = {"provider": "openai", "openai_model": "gpt-4o", "function_calling": ""}
    post(user, "/admin/llm-default", {**common, "openai_api_key": KEY, "share_key_shown": "1",
                                      "share_key_with_personal_tokens": "y"})
    assert shared() is True
    post(user, "/admin/llm-default", {"provider": "ollama", "ollama_model": "qwen3", "function_calling": ""})
    assert shared() is True  # Ollama's fields were on the page, not the box
    post(user, "/admin/llm-default", {**common, "share_key_shown": "1"})  # shown, left unticked
    assert shared() is False
