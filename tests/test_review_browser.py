"""The review page in a real browser: a file dropped in picks its language, the review runs with a
progress indicator and shows each finding at its line. The CDN is unreachable."""

import pytest
from playwright.sync_api import expect

from tests.api_helpers import make_user
from tests.conftest import browser_page

pytestmark = pytest.mark.browser
SOURCE = b"""export class calc {
  divide(a: number, b: number): number {
    // TODO: b may be zero
    return a / b;
  }
}
"""


def test_open_a_file_review_and_jump_to_the_line(browser, live_server_factory, tmp_path):
    server = live_server_factory(ASSET_MODE="cdn")
    make_user(server.app, "alice@example.com")
    page = browser_page(browser, server, email="alice@example.com", width=390)
    page.goto("/review")
    source = tmp_path / "calc.ts"
    source.write_bytes(SOURCE)
    page.set_input_files("#review-file", str(source))
    expect(page.locator("#review-source")).to_have_value(SOURCE.decode())
    expect(page.locator("#review-language")).to_have_value("typescript")  # from the extension
    page.click("#review-submit")
    summary = page.locator(".review-summary")
    expect(summary).to_contain_text("NG")
    expect(summary.locator("h3", has_text="Readability")).to_be_visible()
    naming = summary.locator(".findings li", has_text="Type name 'calc'")
    expect(naming).to_contain_text("line 1")
    expect(page.locator("#src-3.flagged")).to_contain_text("TODO")
    summary.locator(".findings li", has_text="unfinished note").locator("a.line-ref").click()
    expect(page).to_have_url(f"{server.url}/review#src-3")
    page.screenshot(path=str(tmp_path / "review.png"), full_page=True)
    assert page.problems == []
    page.context.close()
