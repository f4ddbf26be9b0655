"""Spec 002's task API: every endpoint's answer, the state machine, who sees what, bad input, limits."""

import base64
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from tests.api_helpers import bearer, make_token, make_user
from tests.conftest import PASSWORD
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.tasks.models import Task, TaskError, TaskLog, TaskMetric

ENVELOPE = {"success", "data", "message", "timestamp"}
ERROR_ENVELOPE = {"success", "error", "timestamp"}
TASK_KEYS = {"id", "title", "description", "priority", "status", "message", "progress", "estimatedTimeRemaining",
             "startedAt", "completedAt", "createdAt", "updatedAt", "userId", "user", "tenantId", "originalTaskId"}
STATUS_KEYS = {"id", "title", "status", "message", "progress", "estimatedTimeRemaining", "startedAt", "completedAt",
               "updatedAt"}


@pytest.fixture
def agent(app):
    """A service token (the instance's agent) and a person with a GitHub login to work for."""
    person = make_user(app, "alice@example.com", github="alice")
    _, raw = make_token(app)
    return bearer(raw), person


def jwt_for(client, email):
    answer = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.json
    return bearer(answer.json["token"])


def create(client, headers, **body):
    answer = client.post("/api/v1/tasks", json={"title": "Fix the flaky test", **body}, headers=headers)
    assert answer.status_code == 201, answer.json
    return answer.json["data"]


def error_of(answer, status, code):
    assert answer.status_code == status, answer.json
    assert set(answer.json) == ERROR_ENVELOPE and answer.json["success"] is False
    assert answer.json["error"]["code"] == code, answer.json
    assert set(answer.json["error"]) - {"retry_after"} == {"code", "message", "details"}
    return answer.json["error"]


def stored(app, task_id):
    with app.app_context():
        return db.session.get(Task, uuid.UUID(str(task_id)))


def test_an_agent_runs_a_task_through_its_life(client, app, agent):
    headers, person = agent
    task = create(client, headers, user="github:alice", description="CI fails on main", priority="high")
    assert set(task) == TASK_KEYS
    assert (task["status"], task["progress"], task["priority"], task["user"], task["userId"]) == (
        "QUEUED", 0, "HIGH", "github:alice", str(person))
    started = client.patch(f"/api/v1/tasks/{task['id']}/status", headers=headers,
                           json={"status": "PROCESSING", "message": "タスクを開始します", "progress": 0})
    assert started.status_code == 200 and set(started.json) == ENVELOPE and started.json["success"] is True
    assert set(started.json["data"]) == STATUS_KEYS and started.json["data"]["status"] == "PROCESSING"
    assert started.json["data"]["startedAt"] is not None
    progress = client.patch(f"/api/v1/tasks/{task['id']}/progress", headers=headers,
                            json={"progress": 50, "message": "データ処理中...", "estimatedTimeRemaining": 300})
    assert progress.status_code == 200
    assert (progress.json["data"]["progress"], progress.json["data"]["estimatedTimeRemaining"]) == (50, 300)
    done = client.patch(f"/api/v1/tasks/{task['id']}/status", headers=headers,
                        json={"status": "COMPLETED", "message": "タスクが完了しました"})
    assert done.status_code == 200
    data = done.json["data"]
    assert (data["status"], data["progress"], data["message"], data["estimatedTimeRemaining"]) == (
        "COMPLETED", 100, "タスクが完了しました", None)
    assert data["completedAt"] >= data["startedAt"]
    row = stored(app, task["id"])
    assert (row.status, row.progress, row.completed_at is not None) == ("COMPLETED", 100, True)


def test_go_timestamps_keep_the_first_start_and_ignore_a_zero_completion(client, app, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    first = client.patch(f"/api/v1/tasks/{task['id']}/status", headers=headers, json={
        "status": "PROCESSING", "message": "start", "progress": 0,
        "startedAt": "2026-11-28T20:55:00.123456789+09:00", "completedAt": "0001-01-01T00:00:00Z"})
    assert first.status_code == 200, first.json
    assert first.json["data"]["startedAt"] == "2026-11-28T11:55:00.123Z" and first.json["data"]["completedAt"] is None
    done = client.patch(f"/api/v1/tasks/{task['id']}/status", headers=headers, json={
        "status": "COMPLETED", "message": "done", "progress": 100,
        "startedAt": "2026-11-28T21:10:00.5+09:00", "completedAt": "2026-11-28T21:10:00.5+09:00"})
    assert done.status_code == 200
    assert done.json["data"]["startedAt"] == "2026-11-28T11:55:00.123Z"  # Go sends startedAt=now every time
    assert done.json["data"]["completedAt"] == "2026-11-28T12:10:00.500Z"
    # A zero time.Time anywhere means "not set": the server's clock stands in.
    line = client.post(f"/api/v1/tasks/{task['id']}/logs", headers=headers,
                       json={"message": "late line", "timestamp": "0001-01-01T00:00:00Z"}).json["data"]
    assert line["timestamp"][:4] == str(datetime.now(timezone.utc).year)


@pytest.mark.parametrize("path, then, status, code", [
    ("QUEUED", "COMPLETED", 422, "INVALID_STATUS_TRANSITION"),
    ("QUEUED", "QUEUED", 422, "INVALID_STATUS_TRANSITION"),
    ("PROCESSING", "QUEUED", 422, "INVALID_STATUS_TRANSITION"),
    ("COMPLETED", "PROCESSING", 409, "TASK_ALREADY_COMPLETED"),
    ("COMPLETED", "FAILED", 409, "TASK_ALREADY_COMPLETED"),
    ("FAILED", "COMPLETED", 409, "TASK_ALREADY_COMPLETED"),
])
def test_the_state_machine_refuses_and_changes_nothing(client, app, agent, path, then, status, code):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    for step in {"QUEUED": [], "PROCESSING": ["PROCESSING"], "COMPLETED": ["PROCESSING", "COMPLETED"],
                 "FAILED": ["FAILED"]}[path]:
        assert client.patch(f"/api/v1/tasks/{task['id']}/status", json={"status": step},
                            headers=headers).status_code == 200
    before = stored(app, task["id"])
    refused = client.patch(f"/api/v1/tasks/{task['id']}/status", json={"status": then, "message": "x"},
                           headers=headers)
    error_of(refused, status, code)
    after = stored(app, task["id"])
    assert (after.status, after.message, after.updated_at) == (before.status, before.message, before.updated_at)


def test_progress_needs_a_running_task(client, app, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    error_of(client.patch(f"/api/v1/tasks/{task['id']}/progress", json={"progress": 10}, headers=headers),
             422, "INVALID_STATUS_TRANSITION")
    client.patch(f"/api/v1/tasks/{task['id']}/status", json={"status": "FAILED"}, headers=headers)
    error_of(client.patch(f"/api/v1/tasks/{task['id']}/progress", json={"progress": 10}, headers=headers),
             409, "TASK_ALREADY_COMPLETED")
    assert stored(app, task["id"]).progress == 0


def test_logs_metrics_and_errors_are_recorded_as_the_spec_shows(client, app, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    url = f"/api/v1/tasks/{task['id']}"
    line = client.post(f"{url}/logs", headers=headers, json={
        "level": "INFO", "message": "データベースクエリを実行中...", "timestamp": "2024-01-01T10:00:00Z",
        "metadata": {"source": "keruta-agent", "version": "1.0.0"}})
    assert line.status_code == 201 and set(line.json) == ENVELOPE
    assert line.json["data"] == {"id": line.json["data"]["id"], "taskId": task["id"], "level": "INFO",
                                 "message": "データベースクエリを実行中...", "timestamp": "2024-01-01T10:00:00Z",
                                 "metadata": {"source": "keruta-agent", "version": "1.0.0"}}
    batch = client.post(f"{url}/logs", headers=headers, json={"logs": [
        {"level": "warning", "message": "retrying"}, {"level": "ERROR", "message": "gave up"}]})
    assert batch.status_code == 201 and batch.json["data"]["count"] == 2
    assert [log["level"] for log in batch.json["data"]["logs"]] == ["WARN", "ERROR"]
    metric = client.post(f"{url}/metrics", headers=headers, json={
        "executionTime": 3600, "memoryUsage": 512, "cpuUsage": 25.5, "diskUsage": 1024, "networkUsage": 2048,
        "timestamp": "2024-01-01T11:00:00Z"})
    assert metric.status_code == 201
    assert {k: v for k, v in metric.json["data"].items() if k != "id"} == {
        "taskId": task["id"], "executionTime": 3600, "memoryUsage": 512, "cpuUsage": 25.5, "diskUsage": 1024,
        "networkUsage": 2048, "timestamp": "2024-01-01T11:00:00Z"}
    assert isinstance(metric.json["data"]["executionTime"], int)  # a Go int field would refuse 3600.0
    error = client.post(f"{url}/errors", headers=headers, json={
        "errorCode": "DB_CONNECTION_ERROR", "message": "データベース接続に失敗しました",
        "details": "Connection timeout after 30 seconds", "stackTrace": "java.sql.SQLException: Connection timeout...",
        "timestamp": "2024-01-01T10:30:00Z"})
    assert error.status_code == 201 and error.json["data"]["autoFixTaskId"] is None
    assert set(error.json["data"]) == {"id", "taskId", "errorCode", "message", "details", "autoFixTaskId", "timestamp"}
    detail = client.get(url, headers=headers).json["data"]
    assert [log["message"] for log in detail["logs"]] == ["データベースクエリを実行中...", "retrying", "gave up"]
    assert [e["errorCode"] for e in detail["errors"]] == ["DB_CONNECTION_ERROR"] and detail["moreLogs"] is False


def test_an_error_with_auto_fix_requested_creates_the_fix_task(client, app, agent):
    headers, person = agent
    task = create(client, headers, user="github:alice", priority="CRITICAL")
    error = client.post(f"/api/v1/tasks/{task['id']}/errors", headers=headers, json={
        "errorCode": "DB_CONNECTION_ERROR", "message": "データベース接続に失敗しました", "autoFixRequested": True})
    assert error.status_code == 201
    fix = stored(app, error.json["data"]["autoFixTaskId"])
    assert (fix.status, str(fix.origin_task_id), fix.user_id, fix.priority) == (
        "QUEUED", task["id"], person, "CRITICAL")
    assert "データベース接続に失敗しました" in fix.title
    explicit = client.post(f"/api/v1/tasks/{task['id']}/auto-fix", headers=headers, json={
        "errorCode": "DB_CONNECTION_ERROR", "originalError": "データベース接続に失敗しました",
        "suggestedFix": "データベース接続設定の確認と修正", "priority": "HIGH"})
    assert explicit.status_code == 201
    data = explicit.json["data"]
    assert (data["originalTaskId"], data["status"], data["priority"], data["description"]) == (
        task["id"], "QUEUED", "HIGH", "データベース接続設定の確認と修正")
    assert data["title"] == "自動修正: データベース接続に失敗しました"  # alice reads Japanese (the default)
    assert set(client.get(f"/api/v1/tasks/{task['id']}", headers=headers).json["data"]["autoFixTaskIds"]) == {
        str(fix.id), data["id"]}


def test_fixes_of_fixes_stop_at_the_third_generation(client, app, agent):
    headers, _ = agent
    task_id = create(client, headers, user="github:alice")["id"]
    for _ in range(3):
        answer = client.post(f"/api/v1/tasks/{task_id}/auto-fix", headers=headers, json={"errorCode": "E"})
        assert answer.status_code == 201
        task_id = answer.json["data"]["id"]
    with app.app_context():
        count = db.session.query(Task).count()
    error_of(client.post(f"/api/v1/tasks/{task_id}/auto-fix", headers=headers, json={"errorCode": "E"}),
             409, "AUTO_FIX_LIMIT_REACHED")
    # The error itself is never lost: recorded, with no fix, and the answer says why.
    kept = client.post(f"/api/v1/tasks/{task_id}/errors", headers=headers,
                       json={"errorCode": "E", "message": "again", "autoFixRequested": True})
    assert kept.status_code == 201 and kept.json["data"]["autoFixTaskId"] is None
    assert "No auto-fix task" in kept.json["message"]
    with app.app_context():
        assert db.session.query(Task).count() == count and db.session.query(TaskError).count() == 1


def test_people_see_their_own_tenant_admins_their_tenant_instance_admins_all(client, app):
    make_user(app, "root@example.com", admin=True)
    alice = make_user(app, "alice@example.com", github="alice")
    bob = make_user(app, "bob@example.com", github="bob")
    with app.app_context():  # carol administers alice's tenant
        alice_row = db.session.get(User, alice)
        carol = User(email="carol@example.com", tenant_id=alice_row.tenant_id, role="ADMIN",
                     password_hash=alice_row.password_hash)
        db.session.add(carol)
        db.session.commit()
    as_alice, as_bob = jwt_for(client, "alice@example.com"), jwt_for(client, "bob@example.com")
    as_carol, as_root = jwt_for(client, "carol@example.com"), jwt_for(client, "root@example.com")
    alices = create(client, as_alice)
    bobs = create(client, as_bob)
    assert alices["userId"] == str(alice) and bobs["userId"] == str(bob)

    def visible(headers):
        return {t["id"] for t in client.get("/api/v1/tasks", headers=headers).json["data"]["tasks"]}

    assert visible(as_alice) == {alices["id"]} and visible(as_bob) == {bobs["id"]}
    assert visible(as_carol) == {alices["id"]} and visible(as_root) == {alices["id"], bobs["id"]}
    url = f"/api/v1/tasks/{alices['id']}"
    for method, path, body in [("get", "", None), ("patch", "/status", {"status": "PROCESSING"}),
                               ("patch", "/progress", {"progress": 5}), ("post", "/logs", {"message": "x"}),
                               ("get", "/logs", None), ("post", "/metrics", {"cpuUsage": 1}),
                               ("post", "/errors", {"errorCode": "E", "message": "m"}),
                               ("post", "/auto-fix", {"errorCode": "E"})]:
        answer = getattr(client, method)(url + path, json=body, headers=as_bob)
        assert error_of(answer, 404, "TASK_NOT_FOUND")["details"] == f"Task with id '{alices['id']}' does not exist"
    with app.app_context():
        assert db.session.query(TaskLog).count() == db.session.query(TaskMetric).count() == 0
        assert db.session.query(Task).count() == 2
    assert stored(app, alices["id"]).status == "QUEUED"
    # Creating for someone else: bob cannot, carol can within her tenant, root anywhere.
    error_of(client.post("/api/v1/tasks", json={"title": "t", "user": "github:alice"}, headers=as_bob),
             404, "USER_NOT_FOUND")
    assert create(client, as_carol, user="github:alice")["userId"] == str(alice)
    error_of(client.post("/api/v1/tasks", json={"title": "t", "user": str(bob)}, headers=as_carol),
             404, "USER_NOT_FOUND")
    assert create(client, as_root, user=str(bob))["userId"] == str(bob)
    assert client.get("/api/v1/tasks?user=github:bob", headers=as_alice).json["data"]["tasks"] == []


def test_a_personal_token_acts_as_its_owner(client, app):
    make_user(app, "root@example.com")  # the first account administers the instance
    alice = make_user(app, "alice@example.com", github="alice")
    make_user(app, "bob@example.com", github="bob")
    _, raw = make_token(app, kind="personal", owner_id=alice)
    task = create(client, bearer(raw))
    assert task["userId"] == str(alice)
    error_of(client.post("/api/v1/tasks", json={"title": "t", "user": "github:bob"}, headers=bearer(raw)),
             404, "USER_NOT_FOUND")


def test_a_service_token_of_no_one_must_name_the_person(client, agent):
    headers, _ = agent
    error = error_of(client.post("/api/v1/tasks", json={"title": "t"}, headers=headers), 422, "VALIDATION_ERROR")
    assert "user" in error["message"]
    error_of(client.post("/api/v1/tasks", json={"title": "t", "user": "github:nobody"}, headers=headers),
             404, "USER_NOT_FOUND")
    error_of(client.post("/api/v1/tasks", json={"title": "t", "user": "not a reference"}, headers=headers),
             422, "VALIDATION_ERROR")


def test_credentials_and_scopes_are_checked_in_spec_002s_shape(client, app, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    error_of(client.get(f"/api/v1/tasks/{task['id']}"), 401, "UNAUTHORIZED")
    error_of(client.get(f"/api/v1/tasks/{task['id']}", headers=bearer("eyJ.forged.jwt")), 401, "UNAUTHORIZED")
    _, reader = make_token(app, scopes=["llm-config:read"])
    error_of(client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(reader)), 403, "FORBIDDEN")
    _, read_only = make_token(app, scopes=["tasks:read"])
    assert client.get(f"/api/v1/tasks/{task['id']}", headers=bearer(read_only)).status_code == 200
    error_of(client.patch(f"/api/v1/tasks/{task['id']}/status", json={"status": "PROCESSING"},
                          headers=bearer(read_only)), 403, "FORBIDDEN")
    assert stored(app, task["id"]).status == "QUEUED"


@pytest.mark.parametrize("method, path, body, status, code", [
    ("post", "", "{not json", 400, "BAD_REQUEST"),
    ("post", "", {"title": ""}, 422, "VALIDATION_ERROR"),
    ("post", "", {"title": "x" * 201}, 422, "VALIDATION_ERROR"),
    ("post", "", {"title": "t", "priority": "URGENT"}, 422, "VALIDATION_ERROR"),
    ("post", "", ["title"], 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "DONE"}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "PROCESSING", "progress": 101}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "PROCESSING", "progress": -1}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "PROCESSING", "startedAt": "yesterday"}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "PROCESSING", "message": "m" * 1001}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", "", 400, "BAD_REQUEST"),
    ("patch", "/progress", {"message": "no progress"}, 422, "VALIDATION_ERROR"),
    ("patch", "/progress", {"progress": "half"}, 422, "VALIDATION_ERROR"),
    ("patch", "/progress", {"progress": 5, "estimatedTimeRemaining": -3}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"level": "LOUD", "message": "x"}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"level": "INFO"}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"logs": []}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"logs": [{"message": "x"}] * 1001}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"message": "x" * 10001}, 422, "VALIDATION_ERROR"),
    ("post", "/metrics", {}, 422, "VALIDATION_ERROR"),
    ("post", "/metrics", {"cpuUsage": -5}, 422, "VALIDATION_ERROR"),
    ("post", "/metrics", {"memoryUsage": "lots"}, 422, "VALIDATION_ERROR"),
    ("post", "/errors", {"message": "no code"}, 422, "VALIDATION_ERROR"),
    ("post", "/errors", {"errorCode": "E", "message": "m", "autoFixRequested": "please"}, 422, "VALIDATION_ERROR"),
    ("post", "/auto-fix", {"priority": "HIGH"}, 422, "VALIDATION_ERROR"),
    ("post", "/auto-fix", None, 400, "BAD_REQUEST"),
    # PostgreSQL cannot store NUL in text: refused up front, on every backend alike.
    ("post", "", {"title": "a\u0000b"}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "COMPLETED", "message": "done\u0000"}, 422, "VALIDATION_ERROR"),
    ("post", "/logs", {"logs": [{"message": "ok"}, {"message": "bad\u0000"}]}, 422, "VALIDATION_ERROR"),
    ("post", "/errors", {"errorCode": "E", "message": "m", "stackTrace": "\u0000"}, 422, "VALIDATION_ERROR"),
    # Moments that leave the calendar once in UTC.
    ("post", "/logs", {"message": "x", "timestamp": "9999-12-31T23:59:59-05:00"}, 422, "VALIDATION_ERROR"),
    ("patch", "/status", {"status": "COMPLETED", "completedAt": "9999-12-31T23:59:59-05:00"}, 422,
     "VALIDATION_ERROR"),
    ("post", "/metrics", {"cpuUsage": 1, "timestamp": "0001-01-01T00:00:00+05:00"}, 422, "VALIDATION_ERROR"),
    ("post", "/metrics", {"cpuUsage": 1e309}, 422, "VALIDATION_ERROR"),
])
def test_bad_input_is_refused_in_the_envelope_and_nothing_is_written(client, app, agent, method, path, body, status,
                                                                    code):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    client.patch(f"/api/v1/tasks/{task['id']}/status", json={"status": "PROCESSING"}, headers=headers)
    url = "/api/v1/tasks" + (f"/{task['id']}{path}" if path else "")
    with app.app_context():
        before = (db.session.query(Task).count(), db.session.query(TaskLog).count(),
                  db.session.query(TaskMetric).count(), db.session.query(TaskError).count())
    kwargs = {"data": body, "content_type": "application/json"} if isinstance(body, str) or body is None \
        else {"json": body}
    error = error_of(getattr(client, method)(url, headers=headers, **kwargs), status, code)
    assert error["message"].startswith(("Send a JSON body.", "The request body failed validation.", "Text may not"))
    with app.app_context():
        assert before == (db.session.query(Task).count(), db.session.query(TaskLog).count(),
                          db.session.query(TaskMetric).count(), db.session.query(TaskError).count())
    row = stored(app, task["id"])
    assert (row.status, row.progress, row.message) == ("PROCESSING", 0, "")


def test_unknown_ids_filters_and_cursors(client, agent):
    headers, _ = agent
    for task_id in ("invalid-id", "00000000-0000-0000-0000-000000000000", "%00", "x" * 300):
        error = error_of(client.get(f"/api/v1/tasks/{task_id}", headers=headers), 404, "TASK_NOT_FOUND")
        assert error["details"].startswith("Task with id '")
    error_of(client.get("/api/v1/tasks?status=DONE", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks?limit=0", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks?from=soon", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks?cursor=bm90LWEtY3Vyc29y", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks/x/logs?level=LOUD", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get(f"/api/v1/tasks/x/logs?before={2**63}", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks/x/logs?q=a%00b", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.get("/api/v1/tasks?from=9999-12-31T23:59:59-05:00", headers=headers), 422, "VALIDATION_ERROR")
    forged = base64.urlsafe_b64encode(f"9999-12-31T23:59:59-05:00|{uuid.uuid4()}".encode()).decode()
    error_of(client.get(f"/api/v1/tasks?cursor={forged}", headers=headers), 422, "VALIDATION_ERROR")
    error_of(client.delete("/api/v1/tasks", headers=headers), 405, "METHOD_NOT_ALLOWED")
    error_of(client.get("/api/v1/tasks/a/b/c", headers=headers), 404, "NOT_FOUND")


def test_oversized_log_bodies_get_413(client, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    huge = {"logs": [{"message": "x" * 9000}] * 300}  # about 2.7 MB
    error_of(client.post(f"/api/v1/tasks/{task['id']}/logs", json=huge, headers=headers), 413, "PAYLOAD_TOO_LARGE")
    error_of(client.post("/api/v1/tasks", json={"title": "t", "description": "d" * 1_100_000}, headers=headers),
             413, "PAYLOAD_TOO_LARGE")


def test_lists_and_log_pages_walk_by_keyset_without_gaps_or_repeats(client, app, agent):
    headers, _ = agent
    made = [create(client, headers, user="github:alice", title=f"task {i}")["id"] for i in range(7)]
    seen, cursor = [], None
    while True:
        page = client.get("/api/v1/tasks", query_string={"limit": 3, **({"cursor": cursor} if cursor else {})},
                          headers=headers).json["data"]
        seen += [t["id"] for t in page["tasks"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == list(reversed(made))
    client.patch(f"/api/v1/tasks/{made[0]}/status", json={"status": "PROCESSING"}, headers=headers)
    only = client.get("/api/v1/tasks?status=processing", headers=headers).json["data"]["tasks"]
    assert [t["id"] for t in only] == [made[0]]
    future = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat()
    assert client.get("/api/v1/tasks", query_string={"from": future}, headers=headers).json["data"]["tasks"] == []
    url = f"/api/v1/tasks/{made[0]}/logs"
    client.post(url, json={"logs": [{"level": "ERROR" if i % 3 == 0 else "INFO", "message": f"line {i}"}
                                    for i in range(10)]}, headers=headers)
    newest = client.get(f"{url}?limit=4", headers=headers).json["data"]
    assert [log["message"] for log in newest["logs"]] == ["line 6", "line 7", "line 8", "line 9"]
    older = client.get(f"{url}?limit=4&before={newest['nextCursor']}", headers=headers).json["data"]
    assert [log["message"] for log in older["logs"]] == ["line 2", "line 3", "line 4", "line 5"]
    errors = client.get(f"{url}?level=error&q=line", headers=headers).json["data"]["logs"]
    assert [log["message"] for log in errors] == ["line 0", "line 3", "line 6", "line 9"]
    assert client.get(f"{url}?q=%25", headers=headers).json["data"]["logs"] == []  # % is text, not a wildcard


def test_spec_002_request_limit_is_100_a_minute_per_agent(client, app_env, agent):
    from webapp import create_app

    app = create_app(env={**app_env, "TASK_RATE_LIMITS": "3/minute"}, overrides={"TESTING": True})
    limited = app.test_client()
    headers, _ = agent
    answers = [limited.get("/api/v1/tasks", headers=headers) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert answers[0].headers["X-RateLimit-Limit"] == "3" and answers[2].headers["X-RateLimit-Remaining"] == "0"
    error_of(answers[3], 429, "RATE_LIMIT_EXCEEDED")
    assert 1 <= int(answers[3].headers["Retry-After"]) <= 60
    assert client.get("/api/v1/tasks", headers=headers).headers["X-RateLimit-Limit"] == "100"  # the default


def test_log_lines_are_limited_per_minute_counting_every_line_of_a_batch(app_env, app, agent):
    from webapp import create_app

    limited_app = create_app(env={**app_env, "TASK_LOG_LINES_LIMIT": "5/minute"}, overrides={"TESTING": True})
    limited = limited_app.test_client()
    headers, _ = agent
    task = create(limited, headers, user="github:alice")
    url = f"/api/v1/tasks/{task['id']}/logs"
    four = limited.post(url, json={"logs": [{"message": f"{i}"} for i in range(4)]}, headers=headers)
    assert four.status_code == 201 and four.headers["X-RateLimit-Remaining-Lines"] == "1"
    refused = limited.post(url, json={"logs": [{"message": "a"}, {"message": "b"}]}, headers=headers)
    error_of(refused, 429, "RATE_LIMIT_EXCEEDED")
    assert refused.headers["X-RateLimit-Limit"] == "5" and int(refused.headers["Retry-After"]) >= 1
    assert limited.post(url, json={"message": "the fifth"}, headers=headers).status_code == 201
    # A batch for a task the caller may not see spends none of the budget (it was refused first).
    error_of(limited.post("/api/v1/tasks/00000000-0000-0000-0000-000000000000/logs", json={"message": "x"},
                          headers=headers), 404, "TASK_NOT_FOUND")
    with app.app_context():
        assert [log.message for log in db.session.query(TaskLog).order_by(TaskLog.id)] == ["0", "1", "2", "3",
                                                                                           "the fifth"]


def test_health_reports_its_components(client, app_env):
    from webapp import create_app

    healthy = client.get("/api/v1/health")
    assert healthy.status_code == 200 and healthy.headers["Cache-Control"] == "no-store"
    body = healthy.json
    assert (body["status"], body["success"], body["components"]) == (
        "UP", True, {"database": "UP", "cache": "UP", "jobQueue": "UP"})
    assert body["data"] == {k: body[k] for k in ("status", "timestamp", "version", "components")}
    cache_down = create_app(env={**app_env, "RATELIMIT_STORAGE_URI": "redis://127.0.0.1:9/0"}).test_client()
    sick = cache_down.get("/api/v1/health")
    assert sick.status_code == 503
    assert (sick.json["status"], sick.json["components"]["cache"], sick.json["components"]["database"]) == (
        "DOWN", "DOWN", "UP")


def test_prune_removes_old_logs_and_metrics_in_batches(client, app, agent):
    headers, _ = agent
    task = create(client, headers, user="github:alice")
    client.post(f"/api/v1/tasks/{task['id']}/logs", json={"logs": [{"message": f"{i}"} for i in range(7)]},
                headers=headers)
    client.post(f"/api/v1/tasks/{task['id']}/metrics", json={"cpuUsage": 3}, headers=headers)
    with app.app_context():
        old = datetime.now(timezone.utc) - timedelta(days=40)
        for log in db.session.query(TaskLog).filter(TaskLog.message.in_(["0", "1", "2", "3", "4"])):
            log.created_at = old
        db.session.query(TaskMetric).one().created_at = old
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tasks", "prune", "--older-than", "30", "--batch", "2"])
    assert result.exit_code == 0, result.output
    assert "5 log lines" in result.output and "1 metric" in result.output
    with app.app_context():
        assert sorted(log.message for log in db.session.query(TaskLog)) == ["5", "6"]
        assert db.session.query(TaskMetric).count() == 0 and db.session.get(Task, uuid.UUID(task["id"])) is not None
    bad = app.test_cli_runner().invoke(args=["tasks", "prune", "--older-than", "0"])
    assert bad.exit_code != 0 and "x>=1" in bad.output
