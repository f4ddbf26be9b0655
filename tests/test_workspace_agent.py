"""The built-in agent (webapp/workspace/agent.py) in a real session: with nothing set up it says
where to set an LLM; with the person's own LLM settings (OpenAI's protocol or Ollama's, served by
tests/fake_llm.py) it answers, proposes a shell command by function calling, asks for approval in
the workspace's protocol, and runs the command only when approved."""

from __future__ import annotations

import json

import pytest

from tests.gunicorn_server import Gunicorn
from tests.test_workspace_socket import Person

PASSWORD = "Password123"


@pytest.fixture
def server(app_env, tmp_path):
    env = {**app_env, "AGENT_WORKDIR": str(tmp_path / "agents"), "AGENT_IDLE_SECONDS": "20",
           "PUBLIC_URL": "https://desk.example.com"}
    served = Gunicorn(env).wait()
    served.workdir = tmp_path / "agents"
    yield served
    served.stop()


def set_llm(app_env, username: str, data: dict, api_key: str | None = None) -> None:
    from webapp import create_app
    from webapp.accounts.models import User
    from webapp.db.orm import db
    from webapp.llm_configs import service as llm

    app = create_app(env=app_env)
    with app.app_context():
        person = db.session.scalar(db.select(User).where(User.username == username))
        llm.save(person, llm.Scope(person), data, new_api_key=api_key, ip="127.0.0.1")


@pytest.fixture
def alice(server):
    person = Person(server.url, "alice")
    yield person
    person.close()


def test_with_no_llm_it_says_where_to_set_one(server, alice):
    alice.send("hello")  # in the connection's language: Japanese, the default
    alice.wait_for(lambda: "まだ言語モデルが設定されていません" in alice.output(), timeout=30)
    assert "https://desk.example.com/settings/llm" in alice.output()
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"])


def test_it_proposes_a_command_and_runs_it_once_approved(server, alice, app_env, llm_server):
    set_llm(app_env, "alice", {"provider": "openai", "openai_base_url": f"{llm_server.url}/v1",
                               "openai_model": "gpt-4o"}, api_key=llm_server.api_key)
    llm_server.replies[:] = [{"tool": "run_shell", "arguments": {"command": "echo 移行 > notes.txt && ls",
                                                                 "purpose": "メモを作る"}},
                             "notes.txt を作りました。"]
    session_id = alice.send("メモを作って")
    alice.wait_for(lambda: alice.approval_requests(), timeout=30)
    request = alice.approval_requests()[0]
    assert request["tool"] == {"name": "run_shell", "command": "echo 移行 > notes.txt && ls",
                               "purpose": "メモを作る", "risk": "medium"}
    assert not list(server.workdir.rglob("notes.txt"))  # nothing runs before the person says so
    alice.client.emit("tool_approval", {"requestId": request["requestId"], "approved": True, "sessionId": session_id})
    alice.wait_for(lambda: "notes.txt を作りました。" in alice.output(), timeout=30)
    assert "[exit 0]" in alice.output()
    [made] = server.workdir.rglob("notes.txt")
    assert made.read_text() == "移行\n" and made.parent.name == session_id.replace("-", "")

    first, second = llm_server.chats[-2:]
    assert first["model"] == "gpt-4o" and first["tools"][0]["function"]["name"] == "run_shell"
    assert first["messages"][-1] == {"role": "user", "content": "メモを作って"}
    result = json.loads(second["messages"][-1]["content"])
    assert second["messages"][-1]["role"] == "tool" and result == {"exit_status": 0, "output": "notes.txt\n"}
    assert llm_server.seen_authorization[-1] == f"Bearer {llm_server.api_key}"


def test_a_rejected_command_does_not_run_and_the_model_hears_so(server, alice, app_env, llm_server):
    set_llm(app_env, "alice", {"provider": "ollama", "ollama_endpoint": llm_server.url, "ollama_model": "qwen3:30b"})
    llm_server.replies[:] = [{"tool": "run_shell", "arguments": {"command": "rm -rf ~/work", "purpose": "tidy"}},
                             "Understood, nothing was deleted."]
    session_id = alice.send("tidy up")
    alice.wait_for(lambda: alice.approval_requests(), timeout=30)
    request = alice.approval_requests()[0]
    assert request["tool"]["risk"] == "high" and request["tool"]["command"] == "rm -rf ~/work"
    alice.client.emit("tool_approval", {"requestId": request["requestId"], "approved": False, "sessionId": session_id})
    alice.wait_for(lambda: "Understood, nothing was deleted." in alice.output(), timeout=30)
    told = llm_server.chats[-1]["messages"][-1]
    assert llm_server.chats[-1]["path"] == "/api/chat" and told["role"] == "tool" and "did not approve" in told["content"]
    assert "[exit" not in alice.output()


def test_a_command_that_hides_a_second_line_is_never_offered(server, alice, app_env, llm_server):
    set_llm(app_env, "alice", {"provider": "ollama", "ollama_endpoint": llm_server.url, "ollama_model": "qwen3:30b"})
    llm_server.replies[:] = [{"tool": "run_shell", "arguments": {"command": "ls\nrm -rf ~", "purpose": "look"}},
                             "I will use one line."]
    alice.send("look around")
    alice.wait_for(lambda: "I will use one line." in alice.output(), timeout=30)
    assert not alice.approval_requests()
    assert "one line" in llm_server.chats[-1]["messages"][-1]["content"]
