"""The Tasks pages (list, task page, log pages, auto-fix from an error) and their live updates over
Socket.IO: who hears what, across two gunicorn workers sharing Redis."""

from __future__ import annotations

import threading
import uuid

import pytest
import requests
import socketio

from tests.api_helpers import bearer, make_token, make_user
from tests.conftest import PASSWORD, login, post
from tests.gunicorn_server import Gunicorn
from webapp import create_app
from webapp.db.orm import db
from webapp.tasks.models import Task, TaskError


def agent_token(app):
    _, raw = make_token(app)
    return bearer(raw)


def new_task(client, headers, user, **body):
    answer = client.post("/api/v1/tasks", json={"title": "Upgrade the parser", "user": user, **body}, headers=headers)
    assert answer.status_code == 201, answer.json
    return answer.json["data"]["id"]


@pytest.fixture
def people(app, client):
    """An admin (first account), alice and bob; the client is signed in as alice."""
    make_user(app, "root@example.com")
    alice = make_user(app, "alice@example.com", github="alice")
    bob = make_user(app, "bob@example.com", github="bob")
    assert login(client, "alice@example.com", PASSWORD).status_code == 302
    return alice, bob


def test_the_list_shows_ones_own_tasks_with_progress_and_filters(client, app, people):
    headers = agent_token(app)
    mine = new_task(client, headers, "github:alice", title="Mine <b>bold</b>")
    other = new_task(client, headers, "github:bob", title="Bob's")
    client.patch(f"/api/v1/tasks/{mine}/status", json={"status": "PROCESSING"}, headers=headers)
    client.patch(f"/api/v1/tasks/{mine}/progress", json={"progress": 42, "message": "halfway"}, headers=headers)
    page = client.get("/tasks")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-task-id="{mine}"' in html and other not in html
    assert '<progress value="42" max="100"' in html and "halfway" in html
    assert "Mine &lt;b&gt;bold&lt;/b&gt;" in html and "<b>bold</b>" not in html
    assert 'id="task-person"' not in html  # only admins filter by person
    fragment = client.get("/tasks?status=COMPLETED", headers={"HX-Request": "true"})
    assert "<html" not in fragment.get_data(as_text=True) and mine not in fragment.get_data(as_text=True)
    assert "HX-Request" in fragment.headers["Vary"]
    running = client.get("/tasks?status=processing").get_data(as_text=True)
    assert mine in running
    assert client.get("/tasks?cursor=garbage&user=nonsense").status_code == 200  # nothing to show, no error


def test_admins_filter_the_list_by_person(client, app, people):
    headers = agent_token(app)
    new_task(client, headers, "github:alice", title="Alice's task")
    new_task(client, headers, "github:bob", title="Bob's task")
    client.post("/auth/logout")
    admin = app.test_client()
    assert login(admin, "root@example.com", PASSWORD).status_code == 302
    everyone = admin.get("/tasks").get_data(as_text=True)
    assert "Alice&#39;s task" in everyone and "Bob&#39;s task" in everyone and 'id="task-person"' in everyone
    only_bob = admin.get("/tasks?user=github:bob").get_data(as_text=True)
    assert "Bob&#39;s task" in only_bob and "Alice&#39;s task" not in only_bob


def test_the_task_page_shows_logs_metrics_errors_and_lineage(client, app, people):
    headers = agent_token(app)
    task = new_task(client, headers, "github:alice", description="Step one\nStep two")
    client.post(f"/api/v1/tasks/{task}/logs", headers=headers, json={"logs": [
        {"level": "ERROR" if i % 50 == 0 else "INFO", "message": f"line {i}"} for i in range(250)]})
    client.post(f"/api/v1/tasks/{task}/logs", headers=headers, json={"message": "<img src=x onerror=alert(1)>"})
    client.post(f"/api/v1/tasks/{task}/metrics", headers=headers, json={"cpuUsage": 12.5, "memoryUsage": 256})
    client.post(f"/api/v1/tasks/{task}/errors", headers=headers, json={
        "errorCode": "DB_CONNECTION_ERROR", "message": "connection refused", "stackTrace": "Traceback: ..."})
    page = client.get(f"/tasks/{task}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert html.count('class="log-line') == 100 and "line 249" in html and "line 150" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img src=x" not in html
    assert 'data-metrics=' in html and "12.5" in html and "DB_CONNECTION_ERROR" in html
    assert "Create auto-fix task" in html and "Step one\nStep two" in html
    older_link = html.split('class="load-older"')[1]
    before = older_link.split("before=")[1].split("&")[0].split('"')[0]
    older = client.get(f"/tasks/{task}/logs?before={before}", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert older.count('class="log-line') == 100 and "line 149" in older and "line 249" not in older
    errors_only = client.get(f"/tasks/{task}/logs?level=ERROR", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert errors_only.count('class="log-line') == 5 and "line 50" in errors_only and "line 51" not in errors_only
    searched = client.get(f"/tasks/{task}/logs?q=line 24", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert searched.count('class="log-line') == 11  # 24, 240-249
    # Without JavaScript, "load older" is a link to the same page, one page back.
    assert "line 149" in client.get(f"/tasks/{task}?before={before}").get_data(as_text=True)


def test_other_peoples_tasks_are_404_everywhere(client, app, people):
    headers = agent_token(app)
    bobs = new_task(client, headers, "github:bob")
    client.post(f"/api/v1/tasks/{bobs}/errors", headers=headers, json={"errorCode": "E", "message": "m"})
    with app.app_context():
        error_id = db.session.scalar(db.select(TaskError.id))
    assert client.get(f"/tasks/{bobs}").status_code == 404
    assert client.get(f"/tasks/{bobs}/logs").status_code == 404
    assert post(client, f"/tasks/{bobs}/errors/{error_id}/auto-fix").status_code == 404
    assert client.get("/tasks/not-a-task").status_code == 404
    with app.app_context():
        assert db.session.query(Task).count() == 1


def test_an_error_becomes_an_auto_fix_task_in_one_click(client, app, people):
    headers = agent_token(app)
    task = new_task(client, headers, "github:alice")
    client.post(f"/api/v1/tasks/{task}/errors", headers=headers, json={
        "errorCode": "TEST_FAILURE", "message": "3 tests failed", "details": "Fix the date parser"})
    with app.app_context():
        error_id = db.session.scalar(db.select(TaskError.id))
    assert client.post(f"/tasks/{task}/errors/{error_id}/auto-fix").status_code == 400  # no CSRF token
    created = post(client, f"/tasks/{task}/errors/{error_id}/auto-fix")
    assert created.status_code == 303
    fix_id = created.location.rsplit("/", 1)[1]
    with app.app_context():
        fix = db.session.get(Task, uuid.UUID(fix_id))
        assert (str(fix.origin_task_id), fix.status, fix.description) == (task, "QUEUED", "Fix the date parser")
        assert db.session.get(TaskError, error_id).auto_fix_task_id == fix.id
    fix_page = client.get(created.location).get_data(as_text=True)
    assert "Auto-fix task created" in fix_page and f'href="/tasks/{task}"' in fix_page
    again = post(client, f"/tasks/{task}/errors/{error_id}/auto-fix")  # a double click, a stale page
    assert again.status_code == 303 and again.location == created.location
    assert "This error already has its auto-fix task" in client.get(again.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Task).count() == 2  # one fix, however often it is asked for
    assert post(client, f"/tasks/{task}/errors/{2**63}/auto-fix").status_code == 404
    origin_page = client.get(f"/tasks/{task}").get_data(as_text=True)
    assert f'href="/tasks/{fix_id}"' in origin_page and "Open its auto-fix task" in origin_page


def test_hostile_filters_get_an_answer_not_an_error(client, app, people):
    headers = agent_token(app)
    task = new_task(client, headers, "github:alice")
    for url in ("/tasks?user=github:al%00ice", f"/tasks/{task}?q=a%00b", f"/tasks/{task}/logs?q=%00"):
        assert client.get(url).status_code == 400  # NUL: PostgreSQL could not even compare it
    for url in (f"/tasks/{task}?before={2**63}", f"/tasks/{task}/logs?before=-5", "/tasks?cursor=%FF%FE",
                "/tasks?status=<script>", f"/tasks/{task}?level=LOUD"):
        assert client.get(url).status_code == 200, url


def test_japanese_pages(client, app, people):
    headers = agent_token(app)
    task = new_task(client, headers, "github:alice")
    client.patch(f"/api/v1/tasks/{task}/status", json={"status": "PROCESSING"}, headers=headers)
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "ja"
    listing = client.get("/tasks").get_data(as_text=True)
    assert "タスク" in listing and "実行中" in listing
    assert "ログ" in client.get(f"/tasks/{task}").get_data(as_text=True)


# --- Live updates over Socket.IO ----------------------------------------------------------------

def session_cookie(app, email) -> str:
    browser = app.test_client()
    assert login(browser, email, PASSWORD).status_code == 302
    return browser.get_cookie("agentdesk_session").value


class Listener:
    """A signed-in browser's Socket.IO connection, recording what it hears."""

    def __init__(self, url, cookie, task_id=None):
        self.events: list[tuple[str, dict]] = []
        self.heard = threading.Event()
        self.client = socketio.Client(reconnection=False)
        for name in ("task", "logs", "metric", "task_error"):
            self.client.on(name, self._recorder(name))
        self.client.connect(url, headers={"Cookie": f"agentdesk_session={cookie}"}, transports=["websocket"],
                            wait_timeout=10)
        self.joined = self.client.call("join_task", {"id": task_id}, timeout=10) if task_id else None

    def _recorder(self, name):
        def record(data):
            self.events.append((name, data))
            self.heard.set()
        return record

    def close(self):
        self.client.disconnect()


def test_a_person_hears_their_tasks_progress_and_others_hear_nothing(live_server_factory):
    server = live_server_factory()
    app = server.app
    make_user(app, "root@example.com")
    make_user(app, "alice@example.com", github="alice")
    make_user(app, "bob@example.com", github="bob")
    headers = agent_token(app)
    task = requests.post(f"{server.url}/api/v1/tasks", json={"title": "t", "user": "github:alice"}, headers=headers,
                         timeout=10).json()["data"]["id"]
    alice = Listener(server.url, session_cookie(app, "alice@example.com"), task)
    bob = Listener(server.url, session_cookie(app, "bob@example.com"), task)
    try:
        assert alice.joined == {"ok": True} and bob.joined == {"ok": False}  # bob may not follow alice's task
        requests.patch(f"{server.url}/api/v1/tasks/{task}/status", json={"status": "PROCESSING"}, headers=headers,
                       timeout=10)
        requests.patch(f"{server.url}/api/v1/tasks/{task}/progress", json={"progress": 60, "message": "m"},
                       headers=headers, timeout=10)
        requests.post(f"{server.url}/api/v1/tasks/{task}/logs", json={"message": "<b>hi</b>"}, headers=headers,
                      timeout=10)
        deadline = threading.Event()
        for _ in range(50):
            if any(name == "logs" for name, _ in alice.events):
                break
            deadline.wait(0.1)
        progress = [data for name, data in alice.events if name == "task" and data["progress"] == 60]
        assert progress and progress[0]["id"] == task and progress[0]["status"] == "PROCESSING"
        logs = [data for name, data in alice.events if name == "logs"]
        assert logs and logs[0]["logs"][0]["message"] == "<b>hi</b>"
        assert bob.events == []
    finally:
        alice.close()
        bob.close()


def test_events_cross_gunicorn_workers_through_redis(app_env, redis_url):
    env = {**app_env, "RATELIMIT_STORAGE_URI": redis_url, "SOCKETIO_MESSAGE_QUEUE": redis_url}
    app = create_app(env=env)
    make_user(app, "root@example.com")
    make_user(app, "alice@example.com", github="alice")
    headers = agent_token(app)
    cookie = session_cookie(app, "alice@example.com")
    browser_side, agent_side = (Gunicorn(env) for _ in range(2))
    try:
        browser_side.wait()
        agent_side.wait()
        task = requests.post(f"{agent_side.url}/api/v1/tasks", json={"title": "t", "user": "github:alice"},
                             headers=headers, timeout=10).json()["data"]["id"]
        alice = Listener(browser_side.url, cookie, task)
        try:
            requests.patch(f"{agent_side.url}/api/v1/tasks/{task}/status", json={"status": "PROCESSING",
                                                                               "progress": 5}, headers=headers,
                           timeout=10)
            assert alice.heard.wait(10), "no event crossed from the agent's worker to the browser's"
            assert alice.events[0][0] == "task" and alice.events[0][1]["progress"] == 5
        finally:
            alice.close()
    finally:
        browser_side.stop()
        agent_side.stop()


def test_an_open_socket_loses_what_its_person_may_no_longer_see(live_server_factory):
    """Rooms are checked on connect and on join; the sweep takes them back when access ends while
    the socket stays open (admin rights revoked; account deactivated)."""
    from webapp.accounts import service as accounts
    from webapp.accounts.models import User
    from webapp.live.watch import watch_of

    server = live_server_factory()
    app = server.app
    root = make_user(app, "root@example.com")
    make_user(app, "alice@example.com", github="alice")
    bob = make_user(app, "bob@example.com", github="bob")
    with app.app_context():
        db.session.get(User, bob).is_admin = True  # bob administers, for now
        db.session.commit()
    headers = agent_token(app)
    alices = requests.post(f"{server.url}/api/v1/tasks", json={"title": "t", "user": "github:alice"},
                           headers=headers, timeout=10).json()["data"]["id"]
    bob_socket = Listener(server.url, session_cookie(app, "bob@example.com"), alices)
    try:
        assert bob_socket.joined == {"ok": True}
        with app.app_context():
            accounts.set_admin(db.session.get(User, root), bob, False, ip="127.0.0.1")
        assert watch_of(app).sweep() == 0  # still signed in, but no longer an admin
        requests.post(f"{server.url}/api/v1/tasks/{alices}/logs", json={"message": "private"}, headers=headers,
                      timeout=10)
        requests.post(f"{server.url}/api/v1/tasks", json={"title": "new", "user": "github:alice"}, headers=headers,
                      timeout=10)
        assert not bob_socket.heard.wait(1.5), bob_socket.events
        with app.app_context():
            accounts.set_active(db.session.get(User, root), bob, False, ip="127.0.0.1")
        assert watch_of(app).sweep() == 1
        for _ in range(30):
            if not bob_socket.client.connected:
                break
            threading.Event().wait(0.1)
        assert not bob_socket.client.connected
    finally:
        bob_socket.close()


def test_home_shows_what_agents_are_doing_for_me(client, app, people):
    headers = agent_token(app)
    mine = new_task(client, headers, "github:alice", title="Alice's refactor")
    new_task(client, headers, "github:bob", title="Bob's secret")
    client.patch(f"/api/v1/tasks/{mine}/status", json={"status": "PROCESSING", "progress": 30}, headers=headers)
    home = client.get("/").get_data(as_text=True)
    section = home.split('id="recent-tasks"')[1].split("</section>")[0]
    assert "Alice&#39;s refactor" in section and f'href="/tasks/{mine}"' in section
    assert 'value="30"' in section and "Running" in section and "Bob" not in home


def test_the_auto_fix_button_says_why_when_fixes_run_too_deep(client, app, people):
    headers = agent_token(app)
    task = new_task(client, headers, "github:alice")
    for _ in range(3):
        task = client.post(f"/api/v1/tasks/{task}/auto-fix", json={"errorCode": "E"}, headers=headers).json["data"]["id"]
    client.post(f"/api/v1/tasks/{task}/errors", headers=headers, json={"errorCode": "E", "message": "still failing"})
    with app.app_context():
        error_id = db.session.scalar(db.select(TaskError.id))
        before = db.session.query(Task).count()
    refused = post(client, f"/tasks/{task}/errors/{error_id}/auto-fix")
    assert refused.status_code == 303 and refused.location.endswith(f"/tasks/{task}")
    assert "a fix of a fix of a fix" in client.get(refused.location).get_data(as_text=True)
    with app.app_context():
        assert db.session.query(Task).count() == before
