"""The Workspace in Chromium against gunicorn (gevent, as make run serves) with the CDN unreachable:
a request typed in the page streams the agent's output into the xterm.js terminal, a tool request
shows the approval card, approving it lets the agent go on; Enter that confirms an IME conversion
sends nothing."""

from __future__ import annotations

import sys

import pytest
import requests
from playwright.sync_api import expect

from tests.conftest import PASSWORD, browser_page
from tests.gunicorn_server import ROOT, Gunicorn


@pytest.fixture
def server(app_env, tmp_path):
    env = {**app_env, "AGENT_COMMAND": f"{sys.executable} {ROOT / 'tests' / 'fake_agent.py'}",
           "AGENT_WORKDIR": str(tmp_path / "agents"), "ASSET_MODE": "cdn"}
    served = Gunicorn(env).wait()
    requests.post(f"{served.url}/api/v1/auth/register", json={"email": "alice@example.com", "username": "alice",
                                                               "password": PASSWORD}, timeout=10)
    yield served
    served.stop()


def test_streamed_output_and_an_approved_tool(browser, server):
    page = browser_page(browser, server, email="alice@example.com")
    page.goto("/workspace")
    page.fill("#ws-new-title", "browser session")
    page.click(".ws-new button")
    terminal = page.locator("#ws-terminal .xterm-rows")
    expect(page.locator("#ws-status")).to_have_attribute("data-tone", "idle")

    page.fill("#ws-input", "echo こんにちは from the page")
    page.press("#ws-input", "Enter")
    expect(terminal).to_contain_text("こんにちは from the page", timeout=15000)
    expect(page.locator("#ws-input")).to_have_value("")

    page.fill("#ws-input", "tool git log -3")
    page.press("#ws-input", "Enter")
    card = page.locator("#ws-approval")
    expect(card).to_be_visible(timeout=15000)
    expect(card.locator('[data-field="command"]')).to_have_text("git log -3")
    expect(card.locator('[data-field="risk"]')).to_have_text("Low risk")
    expect(page.locator("#ws-status")).to_have_attribute("data-tone", "waiting_approval")
    card.locator('[data-approve="true"]').click()
    expect(terminal).to_contain_text("ran: git log -3", timeout=15000)
    expect(card).to_be_hidden()

    page.fill("#ws-input", "echo 変換中")  # Enter that confirms an IME conversion sends nothing
    page.evaluate("""() => document.getElementById('ws-input').dispatchEvent(new KeyboardEvent('keydown',
        {key: 'Enter', isComposing: true, bubbles: true, cancelable: true}))""")
    page.wait_for_timeout(500)
    expect(page.locator("#ws-input")).to_have_value("echo 変換中")
    assert "変換中" not in terminal.inner_text()

    page.reload()  # the terminal starts from the stored output
    expect(page.locator("#ws-terminal .xterm-rows")).to_contain_text("ran: git log -3", timeout=15000)
    assert page.problems == []
