"""The code review's LLM pass against the local OpenAI- and Ollama-compatible server (the real openai
SDK and HTTP underneath): valid answers merge in, invalid ones are retried once then dropped, lines
that do not exist are dropped, timeouts leave the analysers' review."""

from __future__ import annotations

import base64
import json

import pytest

from tests.api_helpers import OPENAI, make_user, set_config
from webapp import create_app
from webapp.db.orm import db
from webapp.usage.models import UsageEvent

SOURCE = "def divide(a, b):\n    return a / b\n\n\ndef main():\n    print(divide(1, 0))\n"
KEY = "sk-test-good-key-0000"


def finding(line=2, category="Correctness", **extra) -> dict:
    return {"line": line, "location": "divide", "category": category, "overview": "b may be zero",
            "details": "Dividing by zero raises ZeroDivisionError.", "suggestion": "Check b first.", **extra}


@pytest.fixture
def llm(llm_server):
    llm_server.replies.clear()
    llm_server.chats.clear()
    yield llm_server
    llm_server.replies.clear()


def reviewer(app_env, llm, provider="openai", **env):
    app = create_app(env={**app_env, **env})
    make_user(app, "admin@example.com", admin=True)
    if provider == "openai":
        set_config(app, None, {**OPENAI, "openai_base_url": f"{llm.url}/v1", "openai_model": "gpt-4o-mini"},
                   api_key=KEY)
    else:
        set_config(app, None, {"provider": "ollama", "ollama_endpoint": llm.url, "ollama_model": "qwen3:30b"})
    client = app.test_client()
    client.post("/usagekey", json={"username": "Tom", "email": "tom@example.com"})
    approved = app.test_cli_runner().invoke(args=["usage-keys", "approve", "tom@example.com"])
    key = approved.output.strip().splitlines()[-1]

    def review(source=SOURCE):
        return client.post("/codereview", json={"source_base64": base64.b64encode(source.encode()).decode(),
                                                "language": "Python"}, headers={"x-api-key": key,
                                                                               "Accept-Language": "en"})
    return app, review


def llm_points(answer) -> list[dict]:
    return [p for p in answer.json.get("review_points", []) if p["rule"] == "llm"]


def test_a_valid_answer_is_merged_and_counted(app_env, llm):
    llm.replies.append(json.dumps({"findings": [finding()]}))
    app, review = reviewer(app_env, llm)
    answer = review()
    assert answer.status_code == 200
    assert llm_points(answer) == [{"location": "divide", "codeline": 2, "category": "Correctness",
                                   "overview": "b may be zero", "details": "Dividing by zero raises ZeroDivisionError.",
                                   "suggestion": "Check b first.", "rule": "llm"}]
    [asked] = llm.chats
    assert asked["path"] == "/v1/chat/completions" and asked["model"] == "gpt-4o-mini"
    assert asked["response_format"]["type"] == "json_schema"
    schema = asked["response_format"]["json_schema"]["schema"]
    assert schema["properties"]["findings"]["items"]["properties"]["category"]["enum"] == [
        "Readability", "Maintainability", "Correctness", "Security", "Style"]
    assert "2:     return a / b" in asked["messages"][1]["content"]  # the model sees numbered lines
    assert llm.seen_authorization[-1] == f"Bearer {KEY}"
    with app.app_context():
        event = db.session.scalars(db.select(UsageEvent)).one()
        assert (event.model, event.tokens_in, event.tokens_out) == ("gpt-4o-mini", 120, 30)


def test_an_invalid_answer_is_asked_for_again_once(app_env, llm):
    llm.replies += ["Sure! Here are the findings: ...", json.dumps({"findings": [finding()]})]
    _, review = reviewer(app_env, llm)
    answer = review()
    assert [p["overview"] for p in llm_points(answer)] == ["b may be zero"]
    assert len(llm.chats) == 2
    assert "does not match the schema" in llm.chats[1]["messages"][-1]["content"]
    assert "notes" not in answer.json


@pytest.mark.parametrize("second", ["not json either", json.dumps({"findings": [{"line": 2}]}),
                                    json.dumps({"findings": [finding(extra_field="x")]})])
def test_invalid_twice_is_dropped_never_passed_through(app_env, llm, second):
    llm.replies += ["{broken", second]
    _, review = reviewer(app_env, llm)
    answer = review()
    assert answer.status_code == 200 and llm_points(answer) == []
    assert len(llm.chats) == 2
    assert any("did not match the expected format" in note for note in answer.json["notes"])


def test_findings_on_lines_that_do_not_exist_or_in_unknown_categories_are_dropped(app_env, llm):
    llm.replies.append(json.dumps({"findings": [finding(line=99), finding(line=0), finding(category="Vibes"),
                                                finding(line=5, category="Readability")]}))
    _, review = reviewer(app_env, llm)
    points = llm_points(review())
    assert [(p["codeline"], p["category"]) for p in points] == [(5, "Readability")]


def test_a_timeout_leaves_the_analysers_review_with_a_note(app_env, llm):
    llm.replies.append(3)  # seconds before the server answers
    _, review = reviewer(app_env, llm, REVIEW_LLM_TIMEOUT="1")
    answer = review("def incNumber(a, b):\n    return a / b\n")
    assert answer.status_code == 200
    assert any(p["rule"] == "function-naming" for p in answer.json["review_points"])
    assert any("did not answer in time" in note for note in answer.json["notes"])
    assert "127.0.0.1" not in str(answer.json["notes"])  # where the model runs is not the caller's business


def test_a_provider_error_is_a_note_not_a_500(app_env, llm):
    app, review = reviewer(app_env, llm)
    set_config(app, None, {**OPENAI, "openai_base_url": f"{llm.url}/missing/v1", "openai_model": "m"}, api_key=KEY)
    answer = review()
    assert answer.status_code == 200
    assert any("answered HTTP 404" in note for note in answer.json["notes"])
    assert "127.0.0.1" not in str(answer.json["notes"])


def test_redirects_are_not_followed(app_env, llm):
    app, review = reviewer(app_env, llm)
    set_config(app, None, {**OPENAI, "openai_base_url": f"{llm.url}/redirect/v1", "openai_model": "m"}, api_key=KEY)
    answer = review()
    assert any("answered HTTP 307" in note for note in answer.json["notes"])
    assert llm.chats == []  # the key never went where the redirect pointed


def test_ollama_through_its_own_api(app_env, llm):
    llm.replies.append(json.dumps({"findings": [finding()]}))
    _, review = reviewer(app_env, llm, provider="ollama")
    assert [p["codeline"] for p in llm_points(review())] == [2]
    [asked] = llm.chats
    assert asked["path"] == "/api/chat" and asked["model"] == "qwen3:30b" and asked["stream"] is False
    assert asked["format"]["required"] == ["findings"]
