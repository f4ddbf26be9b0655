"""Spec 002's own clients, unchanged, against the live server: its curl examples (run by bash) and its
Go sample (compiled with Debian's golang-go), both read from the spec at test time. And concurrent
agents on one task, from several gunicorn processes."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import threading
import uuid
from pathlib import Path

import pytest
import requests

from tests.api_helpers import bearer, make_token, make_user
from tests.conftest import ROOT
from tests.gunicorn_server import Gunicorn
from webapp.accounts.models import User
from webapp.accounts.passwords import hash_password
from webapp.db.orm import db
from webapp.tasks.models import Task, TaskLog

SPEC_HOST = "http://keruta-api:8080"


def spec_002() -> str:
    """The spec as shipped beside the repository (SPECS_DIR overrides where that is)."""
    candidates = [Path(os.environ["SPECS_DIR"])] if os.environ.get("SPECS_DIR") else []
    candidates += [ROOT.parent / "shared" / "specs", Path("/work/shared/specs")]
    for directory in candidates:
        found = sorted(directory.glob("002_*.txt"))
        if found:
            return found[0].read_text(encoding="utf-8")
    raise AssertionError(f"spec 002 not found in {', '.join(map(str, candidates))}: set SPECS_DIR")


def code_blocks(text: str, language: str, after: str) -> list[str]:
    """The ```language blocks that follow the heading `after`, up to the next heading of its level."""
    section = text[text.index(after):]
    level = after.split(" ")[0]
    end = re.search(rf"\n{re.escape(level)} ", section[len(after):])
    section = section[: len(after) + end.start()] if end else section
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def bodies(output: str) -> list[dict]:
    """The JSON answers curl printed back to back."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(output):
        if output[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(output, at)
        found.append(value)
    return found


def spec_agent(app) -> uuid.UUID:
    """The account spec 002's login example signs in with: username "agent", password "password" (an
    account made before the password rules, as a legacy server's would be)."""
    make_user(app, "admin@example.com")
    agent_id = make_user(app, "agent@example.com", github="keruta-agent")
    with app.app_context():
        agent = db.session.get(User, agent_id)
        agent.username, agent.password_hash = "agent", hash_password("password")
        db.session.commit()
    return agent_id


def task_row(app, task_id) -> Task:
    with app.app_context():
        return db.session.get(Task, uuid.UUID(str(task_id)))


def test_spec_002_curl_examples_run_unchanged(live_server_factory):
    server = live_server_factory()
    spec_agent(server.app)
    login = code_blocks(spec_002(), "bash", "### トークンの取得")[0].replace(SPEC_HOST, server.url)
    signed_in = bodies(subprocess.run(["bash", "-c", login], capture_output=True, text=True, check=True).stdout)
    token = signed_in[0]["token"]
    assert signed_in[0]["refreshToken"] and signed_in[0]["expiresIn"] == 1800
    task = requests.post(f"{server.url}/api/v1/tasks", json={"title": "spec 002 curl run"}, headers=bearer(token),
                         timeout=10).json()["data"]
    examples = code_blocks(spec_002(), "bash", "### curlコマンドでの使用例")[0].replace(SPEC_HOST, server.url)
    run = subprocess.run(["bash", "-c", examples], capture_output=True, text=True, check=True,
                         env={**os.environ, "KERUTA_TASK_ID": task["id"], "KERUTA_API_TOKEN": token})
    answers = bodies(run.stdout)
    assert [a["success"] for a in answers] == [True, True, True], answers
    assert [a["data"]["status"] for a in answers] == ["PROCESSING", "PROCESSING", "COMPLETED"]
    assert answers[1]["data"]["progress"] == 50 and answers[1]["data"]["message"] == "データ処理中..."
    row = task_row(server.app, task["id"])
    assert (row.status, row.progress, row.message) == ("COMPLETED", 100, "タスクが完了しました")
    assert row.started_at is not None and row.completed_at >= row.started_at


@pytest.fixture(scope="session")
def go_sample(tmp_path_factory) -> Path:
    """Spec 002's Go sample, compiled as written."""
    go = shutil.which("go") or "/usr/lib/go/bin/go"
    assert Path(go).exists(), "golang-go is not installed (.ci/run installs it)"
    work = tmp_path_factory.mktemp("go")
    (work / "main.go").write_text(code_blocks(spec_002(), "go", "### Go言語での実装例")[0], encoding="utf-8")
    env = {**os.environ, "GOCACHE": str(work / "cache"), "GOPATH": str(work / "gopath"),
           "GOFLAGS": "", "CGO_ENABLED": "0"}
    subprocess.run([go, "build", "-o", str(work / "keruta-agent"), "main.go"], cwd=work, env=env, check=True,
                   capture_output=True, timeout=300)
    return work / "keruta-agent"


def run_go(binary: Path, url: str, token: str, task_id: str) -> subprocess.CompletedProcess:
    # A local offset, as an agent in Tokyo sends: time.Now() marshals as 2026-...T21:00:00.123456789+09:00.
    return subprocess.run([str(binary)], capture_output=True, text=True, timeout=60,
                          env={"KERUTA_API_URL": url, "KERUTA_API_TOKEN": token, "KERUTA_TASK_ID": task_id,
                               "TZ": "Asia/Tokyo", "PATH": os.environ.get("PATH", "")})


def test_spec_002_go_sample_runs_unchanged_with_a_jwt_and_with_a_service_token(live_server_factory, go_sample):
    server = live_server_factory()
    agent_id = spec_agent(server.app)
    token = requests.post(f"{server.url}/api/v1/auth/login", json={"username": "agent", "password": "password"},
                          timeout=10).json()["token"]
    _, service_token = make_token(server.app)
    for credential in (token, service_token):
        task = requests.post(f"{server.url}/api/v1/tasks", json={"title": "Go run", "user": "github:keruta-agent"},
                             headers=bearer(credential), timeout=10).json()["data"]
        run = run_go(go_sample, server.url, credential, task["id"])
        assert run.returncode == 0, run.stdout + run.stderr
        row = task_row(server.app, task["id"])
        assert (row.status, row.progress, row.message, row.user_id) == ("COMPLETED", 100, "タスクが完了しました",
                                                                         agent_id)
        assert row.started_at <= row.completed_at
    # Run again on the finished task: the sample reports the 409 and exits 1, and nothing changes.
    again = run_go(go_sample, server.url, token, task["id"])
    assert again.returncode == 1 and "status: 409" in again.stdout
    assert task_row(server.app, task["id"]).status == "COMPLETED"


@pytest.fixture
def two_workers(app, app_env, redis_url):
    """The app under gunicorn, two processes sharing the database and Redis."""
    env = {**app_env, "RATELIMIT_STORAGE_URI": redis_url, "TASK_RATE_LIMITS": "100000/minute",
           "TASK_LOG_LINES_LIMIT": "1000000/minute"}
    server = Gunicorn(env, workers=2)
    try:
        yield server.wait()
    finally:
        server.stop()


def test_concurrent_agents_never_break_the_state_machine_or_lose_a_log_line(app, two_workers):
    make_user(app, "admin@example.com")
    make_user(app, "alice@example.com", github="alice")
    _, raw = make_token(app)
    headers = bearer(raw)
    url = f"{two_workers.url}/api/v1/tasks"
    task_ids = [requests.post(url, json={"title": f"race {n}", "user": "github:alice"}, headers=headers,
                              timeout=10).json()["data"]["id"] for n in range(4)]
    threads_per_task = 6
    # A timeout on the barriers and daemon threads: an agent that fails cannot leave the others waiting
    # for ever (the test fails instead of the run hanging at exit).
    started, logged = (threading.Barrier(threads_per_task * len(task_ids), timeout=90) for _ in range(2))
    results: dict[str, list] = {task_id: [] for task_id in task_ids}

    def agent(task_id: str, n: int) -> None:
        with requests.Session() as session:
            started.wait()
            # Everyone starts it (PROCESSING again is allowed) and logs; then all race to finish it differently.
            start = session.patch(f"{url}/{task_id}/status", json={"status": "PROCESSING"}, headers=headers, timeout=30)
            logs = session.post(f"{url}/{task_id}/logs", json={"logs": [{"message": f"{n}-{i}"} for i in range(25)]},
                                headers=headers, timeout=30)
            logged.wait()
            finish = session.patch(f"{url}/{task_id}/status", json={"status": "COMPLETED" if n % 2 else "FAILED",
                                                                    "message": f"agent {n}"}, headers=headers,
                                   timeout=30)
            results[task_id].append((n, start.status_code, logs.status_code, finish.status_code,
                                     finish.json()))

    threads = [threading.Thread(target=agent, args=(task_id, n), daemon=True) for task_id in task_ids
               for n in range(threads_per_task)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for task_id, outcomes in results.items():
        assert len(outcomes) == threads_per_task
        assert all(start == 200 and logs == 201 for _, start, logs, _, _ in outcomes), outcomes
        winners = [(n, body) for n, _, _, finish, body in outcomes if finish == 200]
        losers = [body for _, _, _, finish, body in outcomes if finish != 200]
        assert len(winners) == 1, outcomes  # compare-and-set: exactly one agent finishes the task
        assert all(body["error"]["code"] == "TASK_ALREADY_COMPLETED" for body in losers), losers
        n, body = winners[0]
        row = task_row(app, task_id)
        assert (row.status, row.message) == (body["data"]["status"], f"agent {n}")
        with app.app_context():
            assert db.session.query(TaskLog).filter(TaskLog.task_id == row.id).count() == threads_per_task * 25
