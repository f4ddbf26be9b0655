"""Spec 004 §3 over a real server (gunicorn with gevent, as make run serves): a python-socketio client
signs in with a token, sends messages to an agent running in a pseudo-terminal (tests/fake_agent.py),
and receives its output, status and errors; resize reaches the terminal, cancel interrupts, a crash
is a retryable error; another person receives nothing of it; bad payloads get WS002, not a
disconnect."""

from __future__ import annotations

import re
import sys
import threading
import time

import pytest
import requests
import socketio

from tests.gunicorn_server import ROOT, Gunicorn

PASSWORD = "Password123"


@pytest.fixture
def server(app_env, tmp_path):
    env = {**app_env, "AGENT_COMMAND": f"{sys.executable} {ROOT / 'tests' / 'fake_agent.py'}",
           "AGENT_WORKDIR": str(tmp_path / "agents"), "AGENT_IDLE_SECONDS": "2",
           "AGENT_CANCEL_GRACE": "1", "WORKSPACE_SOCKET_MESSAGES": "40"}
    served = Gunicorn(env).wait()
    yield served
    served.stop()


def sign_in(url: str, name: str) -> str:
    requests.post(f"{url}/api/v1/auth/register", json={"email": f"{name}@example.com", "username": name,
                                                      "password": PASSWORD}, timeout=10)
    answer = requests.post(f"{url}/api/auth/login", json={"username": name, "password": PASSWORD}, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()["data"]["accessToken"]


class Person:
    def __init__(self, url: str, name: str, token: str | None = None, **resume):
        self.url, self.token = url, token or sign_in(url, name)
        self.events: list[tuple[str, dict]] = []
        self.changed = threading.Condition()
        self.client = socketio.Client(reconnection=False)
        for name_ in ("message", "status", "error", "tool_approval_request"):
            self.client.on(name_, self._recorder(name_))
        self.client.connect(url, auth={"token": f"Bearer {self.token}", **resume}, transports=["websocket"],
                            wait_timeout=10)

    def _recorder(self, name):
        def record(data):
            with self.changed:
                self.events.append((name, data))
                self.changed.notify_all()
        return record

    def send(self, content: str, session_id: str | None = None) -> str:
        body = {"content": content, **({"sessionId": session_id} if session_id else {})}
        answer = self.client.call("message", body, timeout=10)
        return answer["sessionId"]

    def output(self) -> str:
        return "".join(data["payload"]["content"] for name, data in self.events if name == "message")

    def wait_for(self, check, timeout: float = 15):
        deadline = time.monotonic() + timeout
        with self.changed:
            while not check():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"not seen in {timeout} s; events: {self.events[-10:]}")
                self.changed.wait(left)

    def approval_requests(self) -> list[dict]:
        return [data["payload"] for name, data in self.events if name == "tool_approval_request"]

    def errors(self) -> list[dict]:
        return [data["payload"] for name, data in self.events if name == "error"]

    def statuses(self) -> list[str]:
        return [data["payload"]["status"] for name, data in self.events if name == "status"]

    def close(self):
        self.client.disconnect()


@pytest.fixture
def people(server):
    made = []

    def person(name):
        made.append(Person(server.url, name))
        return made[-1]
    yield person
    for each in made:
        each.close()


def test_a_message_runs_the_agent_and_its_output_streams_back(server, people):
    alice = people("alice")
    session_id = alice.send("echo マイグレーション migration done")
    alice.wait_for(lambda: "\x1b[32mマイグレーション migration done\x1b[0m" in alice.output())
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"] and "processing" in alice.statuses())
    message = next(data for name, data in alice.events if name == "message")
    assert message["type"] == "output" and message["sessionId"] == session_id
    assert message["payload"]["format"] == "ansi" and message["payload"]["timestamp"].endswith("Z")

    headers = {"Authorization": f"Bearer {alice.token}"}
    detail = requests.get(f"{server.url}/api/sessions/{session_id}", headers=headers, timeout=10).json()["data"]
    assert detail["messages"][0]["role"] == "user" and detail["messages"][0]["content"].startswith("echo ")
    transcript = "".join(m["content"] for m in detail["messages"] if m["role"] == "assistant")
    assert "\x1b[32mマイグレーション migration done" in transcript  # stored with its colours
    found = requests.get(f"{server.url}/api/history/search", params={"q": "マイグレーション"}, headers=headers,
                         timeout=10).json()["data"]
    assert {r["sessionId"] for r in found["results"]} == {session_id}

    alice.send("size", session_id)  # the same agent, still running
    alice.client.emit("resize", {"cols": 100, "rows": 40})
    time.sleep(0.3)
    alice.send("size", session_id)
    alice.wait_for(lambda: "40 x 100" in alice.output())


def test_cancel_interrupts_and_a_crash_is_a_retryable_error(server, people):
    alice = people("alice")
    session_id = alice.send("slow")
    alice.wait_for(lambda: "working 2" in alice.output())
    alice.client.emit("cancel", {"sessionId": session_id})
    alice.wait_for(lambda: "interrupted" in alice.output())
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"])

    alice.send("crash", session_id)
    alice.wait_for(lambda: any(e["code"] == "AQ002" for e in alice.errors()))
    crash = next(e for e in alice.errors() if e["code"] == "AQ002")
    assert crash["retryable"] is True and "3" in crash["message"]
    alice.send("echo back again", session_id)  # a new agent for the same session
    alice.wait_for(lambda: "back again" in alice.output())


def test_another_person_receives_nothing_and_cannot_use_the_session(server, people):
    alice, bob = people("alice"), people("bob")
    session_id = alice.send("echo private words")
    alice.wait_for(lambda: "private words" in alice.output())
    bob.client.emit("message", {"content": "echo hijack", "sessionId": session_id})
    bob.client.emit("cancel", {"sessionId": session_id})
    bob.wait_for(lambda: len(bob.errors()) == 2)
    assert [e["code"] for e in bob.errors()] == ["SESSION001", "SESSION001"]
    time.sleep(0.5)
    assert "private words" not in bob.output() and "hijack" not in alice.output()


@pytest.mark.parametrize("event, data", [("message", "echo hi"), ("message", {"content": ""}),
                                         ("message", {"content": 5}), ("message", {"content": "x" * 70000}),
                                         ("message", {"content": "\ud800 lone surrogate"}),  # JSON allows it
                                         ("resize", {"cols": "80", "rows": 24}), ("resize", {"cols": 0, "rows": 24}),
                                         ("resize", {"cols": 10 ** 30, "rows": 24}),  # beyond orjson: still read
                                         ("cancel", {}), ("cancel", None)])
def test_malformed_events_get_ws002_and_the_connection_stays(server, people, event, data):
    alice = people("alice")
    alice.client.emit(event, data)
    alice.wait_for(lambda: alice.errors())
    assert alice.errors()[0]["code"] == "WS002" and alice.errors()[0]["retryable"] is False
    assert alice.client.connected
    alice.send("echo still here")
    alice.wait_for(lambda: "still here" in alice.output())


def test_a_connection_has_a_message_budget(server, people):
    alice = people("alice")
    for _ in range(41):
        alice.client.emit("resize", {"cols": 80, "rows": 24})
    alice.wait_for(lambda: any(e["code"] == "SYS001" for e in alice.errors()))
    assert alice.client.connected


@pytest.mark.parametrize("auth", [None, {"token": "Bearer nonsense"}, {"token": ""}, "Bearer x"])
def test_a_connection_without_a_valid_token_is_refused(server, auth):
    stranger = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        stranger.connect(server.url, auth=auth, transports=["websocket"], wait_timeout=5)


def test_an_agent_that_reads_nothing_does_not_stall_the_server(server, people):
    alice = people("alice")
    session_id = alice.send("slow")  # it prints, and reads no input until interrupted
    alice.wait_for(lambda: "working 1" in alice.output())
    alice.client.emit("message", {"content": ("y" * 99 + "\n") * 600, "sessionId": session_id})  # 60 KB
    time.sleep(0.5)
    assert requests.get(f"{server.url}/health", timeout=5).status_code == 200  # the worker still serves
    alice.wait_for(lambda: any(e["code"] == "AQ002" and e["retryable"] for e in alice.errors()), timeout=20)
    alice.client.emit("cancel", {"sessionId": session_id})
    alice.wait_for(lambda: "interrupted" in alice.output())


def test_deleting_a_session_ends_its_agent(server, people):
    alice = people("alice")
    session_id = alice.send("slow")
    alice.wait_for(lambda: "working 2" in alice.output())
    deleted = requests.delete(f"{server.url}/api/sessions/{session_id}",
                              headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
    assert deleted.status_code == 200
    time.sleep(1.0)
    seen = alice.output()
    time.sleep(1.0)
    assert alice.output() == seen  # nothing more: the agent is gone
    assert not any(e["code"] == "AQ002" for e in alice.errors())  # ended on purpose, not a crash


def test_a_closed_session_takes_no_more_messages(server, people, app_env):
    from webapp import create_app
    from webapp.accounts.models import User
    from webapp.db.orm import db
    from webapp.workspace import service

    alice = people("alice")
    session_id = alice.send("echo first")
    alice.wait_for(lambda: "first" in alice.output())
    app = create_app(env=app_env)
    with app.app_context():
        service.close_session(db.session.scalar(db.select(User).where(User.username == "alice")), session_id)
    alice.client.emit("message", {"content": "echo second", "sessionId": session_id})
    alice.wait_for(lambda: any(e["code"] == "SESSION002" for e in alice.errors()))


def transcript(server, person: Person, session_id: str) -> list[dict]:
    answer = requests.get(f"{server.url}/api/sessions/{session_id}",
                          headers={"Authorization": f"Bearer {person.token}"}, timeout=10)
    return answer.json()["data"]["messages"]


def test_a_tool_request_is_approved_or_rejected_by_the_person(server, people):
    alice = people("alice")
    session_id = alice.send("tool ls -la src")
    alice.wait_for(lambda: alice.approval_requests())
    request = alice.approval_requests()[0]
    assert request["tool"] == {"name": "shell", "command": "ls -la src", "purpose": "testing approvals",
                               "risk": "low"}
    assert alice.statuses()[-1] == "waiting_approval"
    time.sleep(2.5)  # longer than AGENT_IDLE_SECONDS: waiting for a person is not idle
    assert alice.statuses()[-1] == "waiting_approval"
    alice.client.emit("tool_approval", {"requestId": request["requestId"], "approved": True, "sessionId": session_id})
    alice.wait_for(lambda: "ran: ls -la src" in alice.output())
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"])

    alice.send("tool rm -rf build", session_id)  # it claims low risk; the server reads it as high
    alice.wait_for(lambda: len(alice.approval_requests()) == 2)
    second = alice.approval_requests()[1]
    assert second["tool"]["risk"] == "high" and second["requestId"] != request["requestId"]
    alice.client.emit("tool_approval", {"requestId": second["requestId"], "approved": False, "sessionId": session_id})
    alice.wait_for(lambda: "skipped: rm -rf build" in alice.output())
    alice.client.emit("tool_approval", {"requestId": second["requestId"], "approved": True, "sessionId": session_id})
    alice.wait_for(lambda: alice.errors())  # answered already
    assert alice.errors()[0]["code"] == "WS002" and "ran: rm" not in alice.output()

    decisions = [m["content"] for m in transcript(server, alice, session_id) if m["role"] == "user"]
    assert decisions == ["tool ls -la src", "[approved] ls -la src", "tool rm -rf build", "[rejected] rm -rf build"]


def test_another_person_cannot_answer_a_tool_request(server, people):
    alice, bob = people("alice"), people("bob")
    session_id = alice.send("tool cat notes.txt")
    alice.wait_for(lambda: alice.approval_requests())
    request_id = alice.approval_requests()[0]["requestId"]
    bob.client.emit("tool_approval", {"requestId": request_id, "approved": True, "sessionId": session_id})
    bob.wait_for(lambda: bob.errors())
    assert bob.errors()[0]["code"] == "SESSION001" and not bob.approval_requests()
    time.sleep(0.5)
    assert "ran:" not in alice.output() and alice.statuses()[-1] == "waiting_approval"


@pytest.mark.parametrize("data", [{"requestId": "x", "approved": "yes", "sessionId": "y"}, {"approved": True},
                                  {"requestId": 1, "approved": True, "sessionId": "y"}, "approve"])
def test_malformed_approvals_get_ws002(server, people, data):
    alice = people("alice")
    alice.client.emit("tool_approval", data)
    alice.wait_for(lambda: alice.errors())
    assert alice.errors()[0]["code"] == "WS002" and alice.client.connected


def test_trust_all_tools_approves_only_low_risk_tools(server, people):
    alice = people("alice")
    changed = requests.put(f"{server.url}/api/settings", json={"amazonQSettings": {"trustAllTools": True}},
                           headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
    assert changed.status_code == 200
    session_id = alice.send("tool git status")
    alice.wait_for(lambda: "ran: git status" in alice.output())
    assert not alice.approval_requests()
    alice.send("tool git push --force origin main !low", session_id)
    alice.wait_for(lambda: alice.approval_requests())
    assert alice.approval_requests()[0]["tool"]["risk"] == "high" and "ran: git push" not in alice.output()
    automatic = [m for m in transcript(server, alice, session_id) if m["content"] == "[approved] git status"]
    assert len(automatic) == 1


def test_a_client_that_comes_back_gets_what_it_missed(server, people):
    alice = people("alice")
    session_id = alice.send("slow")
    alice.wait_for(lambda: "working 3" in alice.output())
    alice.close()
    last_seen = [data for name, data in alice.events if name == "message"][-1]["payload"]["timestamp"]
    time.sleep(1.5)  # it goes on printing while nobody listens

    again = Person(server.url, "alice", token=alice.token, sessionId=session_id, since=last_seen)
    try:
        again.wait_for(lambda: len(re.findall(r"working \d+", again.output())) > 12)
        steps = [int(n) for n in re.findall(r"working (\d+)", alice.output() + again.output())]
        assert steps == list(range(steps[0], steps[0] + len(steps)))  # nothing lost, nothing twice
        again.client.emit("cancel", {"sessionId": session_id})
        again.wait_for(lambda: "interrupted" in again.output())
    finally:
        again.close()


def test_a_waiting_request_is_sent_again_to_a_client_that_comes_back(server, people):
    alice = people("alice")
    session_id = alice.send("tool ls")
    alice.wait_for(lambda: alice.approval_requests())
    alice.close()
    again = Person(server.url, "alice", token=alice.token, sessionId=session_id)
    try:
        again.wait_for(lambda: again.approval_requests())
        assert again.approval_requests()[0] == alice.approval_requests()[0]
        assert again.statuses() == ["waiting_approval"]
        again.client.emit("tool_approval", {"requestId": again.approval_requests()[0]["requestId"],
                                            "approved": True, "sessionId": session_id})
        again.wait_for(lambda: "ran: ls" in again.output())
    finally:
        again.close()


def test_japanese_output_becomes_searchable_through_the_job_consumer(app_env, tmp_path):
    env = {**app_env, "AGENT_COMMAND": f"{sys.executable} {ROOT / 'tests' / 'fake_agent.py'}",
           "AGENT_WORKDIR": str(tmp_path / "agents"), "JOBS_CONSUMER": "embedded",
           "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}"}
    served = Gunicorn(env).wait()
    alice = Person(served.url, "alice")
    try:
        session_id = alice.send("japanese")
        alice.wait_for(lambda: "移行が完了しました" in alice.output())
        headers = {"Authorization": f"Bearer {alice.token}"}
        deadline = time.monotonic() + 15  # queued when the agent settles: the minute's sweeper is not needed
        while time.monotonic() < deadline:
            results = requests.get(f"{served.url}/api/history/search", params={"q": "移行"}, headers=headers,
                                   timeout=10).json()["data"]["results"]
            if results:
                break
            time.sleep(0.5)
        assert [(r["sessionId"], "<mark>移行</mark>" in r["highlight"]) for r in results] == [(session_id, True)]
    finally:
        alice.close()
        served.stop()


def test_each_person_runs_the_agent_they_chose(app_env, tmp_path):
    import json

    choices = {"fake": {"command": f"{sys.executable} {ROOT / 'tests' / 'fake_agent.py'}", "approval": "agentdesk",
                        "label": "Test agent"}}
    env = {**app_env, "AGENT_COMMAND": "", "AGENT_CHOICES": json.dumps(choices),
           "AGENT_WORKDIR": str(tmp_path / "agents")}
    served = Gunicorn(env).wait()
    alice, bob = Person(served.url, "alice"), Person(served.url, "bob")
    try:
        chosen = requests.put(f"{served.url}/api/settings", json={"amazonQSettings": {"agent": "fake"}},
                              headers={"Authorization": f"Bearer {alice.token}"}, timeout=10)
        assert chosen.json()["data"]["amazonQSettings"]["agent"] == "fake"
        alice.send("echo chosen one")
        bob.send("hello")  # the instance's agent: AGENT_COMMAND is empty, so the built-in one
        alice.wait_for(lambda: "fake agent ready" in alice.output() and "chosen one" in alice.output(), timeout=30)
        bob.wait_for(lambda: "AgentDesk agent" in bob.output(), timeout=30)
        assert "fake agent ready" not in bob.output()
    finally:
        alice.close()
        bob.close()
        served.stop()


def test_signing_out_everywhere_ends_a_token_connection(server, people, app_env):
    from webapp import create_app
    from webapp.accounts import service as accounts
    from webapp.accounts.models import User
    from webapp.db.orm import db

    alice = people("alice")
    session_id = alice.send("echo before")
    alice.wait_for(lambda: "before" in alice.output())
    app = create_app(env=app_env)
    with app.app_context():
        accounts.sign_out_everywhere(db.session.scalar(db.select(User).where(User.username == "alice")),
                                     ip="127.0.0.1")
    alice.client.emit("message", {"content": "echo after", "sessionId": session_id})
    alice.wait_for(lambda: any(e["code"] == "AUTH003" for e in alice.errors()))
    deadline = time.monotonic() + 5
    while alice.client.connected and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alice.client.connected and "after" not in alice.output().replace("echo after", "")


def test_output_that_only_looks_like_a_question_is_not_one(server, people):
    alice = people("alice")
    alice.send("fakeq")
    alice.wait_for(lambda: "not a question" in alice.output())
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"])
    time.sleep(1)  # longer than the runner waits after a question before it counts as asked
    assert not alice.approval_requests() and "waiting_approval" not in alice.statuses()


def test_a_client_that_names_no_time_gets_the_session_from_the_start(server, people):
    alice = people("alice")
    session_id = alice.send("echo first words")
    alice.wait_for(lambda: "first words" in alice.output())
    alice.wait_for(lambda: alice.statuses()[-1:] == ["idle"])
    again = Person(server.url, "alice", token=alice.token, sessionId=session_id, since="0001-01-01T00:00:00+01:00")
    try:
        again.wait_for(lambda: "first words" in again.output())  # an unusable time counts as none
        assert again.statuses() == ["idle"]
    finally:
        again.close()


def test_a_listening_token_connection_ends_after_sign_out_everywhere(app_env, tmp_path):
    from webapp import create_app
    from webapp.accounts import service as accounts
    from webapp.accounts.models import User
    from webapp.db.orm import db

    served = Gunicorn({**app_env, "WORKSPACE_RECHECK_SECONDS": "1",
                       "AGENT_WORKDIR": str(tmp_path / "agents")}).wait()
    alice = Person(served.url, "alice")
    try:
        app = create_app(env=app_env)
        with app.app_context():
            accounts.sign_out_everywhere(db.session.scalar(db.select(User).where(User.username == "alice")),
                                         ip="127.0.0.1")
        alice.wait_for(lambda: any(e["code"] == "AUTH003" for e in alice.errors()), timeout=10)
        deadline = time.monotonic() + 5
        while alice.client.connected and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alice.client.connected  # it sent nothing, and was still ended
    finally:
        served.stop()


def test_an_agent_printing_without_pause_does_not_hold_the_worker(server, people):
    alice = people("alice")
    alice.send("flood 40000")  # 40 MB, as fast as the terminal takes it
    alice.wait_for(lambda: len(alice.output()) > 100_000)
    assert requests.get(f"{server.url}/health", timeout=120).status_code == 200
    assert "idle" not in alice.statuses()  # answered while the agent was still printing
