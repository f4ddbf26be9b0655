"""A person watches their agent's task in a real browser: the progress bar moves, the log tail grows,
charts and errors appear, all without a reload; from the error they start an auto-fix task. With the
CDN unreachable (the Socket.IO client and Chart.js come from their local copies)."""

import pytest
import requests
from playwright.sync_api import expect

from tests.api_helpers import bearer, make_token, make_user
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser


@pytest.fixture
def watched(browser, live_server_factory):
    server = live_server_factory(ASSET_MODE="cdn")
    make_user(server.app, "root@example.com")
    make_user(server.app, "alice@example.com", github="alice")
    _, raw = make_token(server.app)
    context = browser.new_context(locale="en-US", base_url=server.url, viewport={"width": 390, "height": 844})
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort("internetdisconnected"))
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.goto("/auth/login")
    page.fill("#login", "alice@example.com")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    expect(page.locator(".user-menu")).to_be_visible()

    def agent(method, path, body):
        answer = requests.request(method, f"{server.url}/api/v1/tasks{path}", json=body, headers=bearer(raw),
                                  timeout=10)
        assert answer.status_code in (200, 201), answer.text
        return answer.json()["data"]

    yield page, agent, problems
    context.close()


def test_the_task_page_follows_the_agent_live(watched):
    page, agent, problems = watched
    task = agent("POST", "", {"title": "Migrate the database", "user": "github:alice"})["id"]
    page.goto(f"/tasks/{task}")
    expect(page.locator("[data-live-state]")).to_be_visible()  # the socket is connected and joined
    progress = page.locator("#task-summary progress")
    expect(progress).to_have_js_property("value", 0)
    agent("PATCH", f"/{task}/status", {"status": "PROCESSING", "message": "Starting"})
    expect(page.locator("#task-summary [data-status]")).to_have_text("Running")
    agent("PATCH", f"/{task}/progress", {"progress": 35, "message": "Copying rows"})
    expect(progress).to_have_js_property("value", 35)
    expect(page.locator("#task-summary [data-message]")).to_have_text("Copying rows")
    agent("PATCH", f"/{task}/progress", {"progress": 80})
    expect(progress).to_have_js_property("value", 80)
    agent("POST", f"/{task}/logs", {"logs": [{"level": "INFO", "message": "batch 1 <b>done</b>"},
                                             {"level": "ERROR", "message": "row 17 rejected"}]})
    expect(page.locator("#log-lines .log-line")).to_have_count(2)
    expect(page.locator("#log-lines .log-line").first).to_contain_text("batch 1 <b>done</b>")  # text, not HTML
    page.select_option("#log-level", "ERROR")  # the filter also applies to what arrives next
    expect(page.locator("#log-lines .log-line")).to_have_count(1)
    agent("POST", f"/{task}/logs", {"logs": [{"level": "INFO", "message": "quiet"},
                                             {"level": "ERROR", "message": "row 99 rejected"}]})
    expect(page.locator("#log-lines .log-line")).to_have_count(2)
    expect(page.locator("#log-lines")).not_to_contain_text("quiet")
    agent("POST", f"/{task}/metrics", {"cpuUsage": 30, "memoryUsage": 200})
    expect(page.locator(".chart-grid canvas")).to_have_count(4)
    expect(page.locator(".chart-grid")).to_have_attribute("data-drawn", "1")
    agent("POST", f"/{task}/errors", {"errorCode": "ROW_REJECTED", "message": "2 rows rejected"})
    expect(page.locator("#errors")).to_contain_text("ROW_REJECTED")
    page.click("#errors button:has-text('Create auto-fix task')")
    expect(page.locator("h1")).to_contain_text("2 rows rejected")
    # Titled in the person's own language (the instance default, Japanese, until they choose one).
    expect(page.locator("h1")).to_contain_text("自動修正")
    expect(page.locator("a", has_text="Migrate the database")).to_be_visible()  # the lineage, back
    assert problems == []


def test_the_list_moves_too_and_shows_new_tasks(watched):
    page, agent, problems = watched
    first = agent("POST", "", {"title": "First task", "user": "github:alice"})["id"]
    page.goto("/tasks")
    expect(page.locator(f'tr[data-task-id="{first}"]')).to_be_visible()
    page.wait_for_function("() => window.agentdeskSocket && window.agentdeskSocket.connected")
    agent("PATCH", f"/{first}/status", {"status": "PROCESSING", "progress": 10})
    agent("PATCH", f"/{first}/progress", {"progress": 55})
    expect(page.locator(f'tr[data-task-id="{first}"] progress')).to_have_js_property("value", 55)
    expect(page.locator(f'tr[data-task-id="{first}"] [data-status]')).to_have_text("Running")
    second = agent("POST", "", {"title": "Second task", "user": "github:alice"})["id"]
    expect(page.locator(f'tr[data-task-id="{second}"]')).to_be_visible()  # fetched when it appeared
    assert problems == []
