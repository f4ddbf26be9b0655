"""An admin approves a usage key in a real browser; the requester opens the one-time link twice.
The CDN is unreachable (htmx comes from its local copy)."""

import re

import pytest
import requests
from playwright.sync_api import expect

from tests.api_helpers import make_user
from tests.conftest import browser_page
from webapp.db.orm import db
from webapp.mail.models import MailMessage

pytestmark = pytest.mark.browser
LINK = re.compile(r"http://\S+/usage-keys/reveal/\S+")
KEY = re.compile(r"adk_usg_[A-Za-z0-9]+_[A-Za-z0-9]+")


@pytest.fixture
def server(live_server_factory):
    server = live_server_factory(ASSET_MODE="cdn")
    make_user(server.app, "root@example.com", admin=True)
    return server


def test_approve_in_the_browser_then_the_link_shows_the_key_once(browser, server):
    asked = requests.post(f"{server.url}/usagekey", json={"username": "Tom Hanks", "email": "tomtom@example.com"},
                          timeout=10)
    assert asked.json() == {"status": "PENDING"}
    page = browser_page(browser, server, email="root@example.com")
    page.goto("/")
    expect(page.locator("#pending-usage-keys strong")).to_have_text("1")  # the home page says one is waiting
    page.click("#pending-usage-keys a")
    expect(page.locator(".tabs [aria-current=page] .count")).to_have_text("1")
    row = page.locator(".key-list > li", has_text="tomtom@example.com")
    row.locator("summary", has_text="Decide").click()
    row.get_by_label("Reviews a day").fill("25")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".flash-success")).to_contain_text("tomtom@example.com has been sent a one-time link")
    expect(page.locator(".tabs [aria-current=page] .count")).to_have_text("0")  # swapped in place, no reload
    page.get_by_role("link", name=re.compile("Approved")).click()
    expect(page.locator(".key-list > li", has_text="tomtom@example.com")).to_contain_text("25 a day")

    with server.app.app_context():
        mail = db.session.scalars(db.select(MailMessage).where(MailMessage.kind == "usage_key.approved")).one()
        link = LINK.search(mail.text_body).group(0).replace("http://127.0.0.1:5000", server.url)
    visitor = browser_page(browser, server, width=390)
    visitor.goto(link)
    expect(visitor.get_by_role("button", name="Show my key")).to_be_visible()
    assert not KEY.search(visitor.content())
    visitor.get_by_role("button", name="Show my key").click()
    raw = visitor.locator("#new-token").inner_text()
    assert KEY.fullmatch(raw)
    review = requests.post(f"{server.url}/codereview", json={"source_base64": "eCA9IDEK", "language": "Python"},
                           headers={"x-api-key": raw}, timeout=30)
    assert review.status_code == 200

    visitor.goto(link)  # the second time: refused, nothing shown
    expect(visitor.locator(".flash-error")).to_contain_text("used already")
    expect(visitor.get_by_role("button", name="Show my key")).to_have_count(0)
    assert not KEY.search(visitor.content())
    page.goto("/admin/usage-keys?tab=active")
    page.locator(".key-list > li", has_text="tomtom@example.com").get_by_role("link", name="Usage").click()
    expect(page.locator("#usage-chart")).to_have_attribute("data-drawn", "1")  # Chart.js from its local copy
    expect(page.locator(".facts")).to_contain_text("Used today")
    assert page.problems == [] and visitor.problems == []
