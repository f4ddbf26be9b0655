"""Issue 12 in a real browser: files dropped on the Documents page go from uploading through reading
to ready without a reload (a real job consumer reads them); the Chat page streams the tenant's LLM
answer and opens its sources; the widget's snippet, pasted into a plain page of another origin,
answers a visitor there and is refused on a site the organisation did not allow."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from tests.conftest import browser_page
from tests.test_mail import Consumer
from tests.test_rag_chat import PASSAGES
from tests.test_retrieval import add_document
from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.jobs import jobs_of
from webapp.tenants import service as tenants

pytestmark = pytest.mark.browser


@pytest.fixture
def org(live_server_factory, app_env, tmp_path):
    env = {"UPLOAD_DIR": str(tmp_path / "uploads"), "JOBS_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}"}
    server = live_server_factory(**env)
    with server.app.app_context():
        accounts.create_account(email="admin@example.com", password="Passw0rd!", username="admin", admin=True,
                                logins={})
        admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        tenant_id = admin.tenant_id
    jobs_of(server.app).huey.flush()
    return server, {**app_env, **env}, tenant_id


class Site:
    """A plain web page on its own origin (another port) holding the widget snippet."""

    def __init__(self, snippet: str):
        html = f"<!doctype html><html><head><meta charset='utf-8'><title>Shop</title></head><body><h1>Shop</h1>{snippet}</body></html>"
        self.server = make_server("127.0.0.1", 0, lambda environ, start: Response(html, mimetype="text/html")(
            environ, start), threaded=True)
        self.origin = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()


def test_dropped_files_are_read_live_and_answered_from(browser, org, tmp_path):
    server, env, _ = org
    consumer = Consumer(env, tmp_path / "consumer.log")
    try:
        page = browser_page(browser, server, email="admin@example.com", width=390)
        page.goto("/documents")
        files = []
        for name, text in (("休暇規程.txt", PASSAGES["paid_leave"]), ("backup.txt", PASSAGES["backup"])):
            path = tmp_path / name
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        (tmp_path / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
        page.set_input_files("#document-files", files + [str(tmp_path / "photo.txt")])
        expect(page.locator("#upload-list li")).to_have_count(3)
        expect(page.locator("#upload-list li.upload-failed .upload-note")).to_contain_text("Only PDF, DOCX and plain-text")
        rows = page.locator("#documents-table tr[data-document-id]")
        expect(rows).to_have_count(2, timeout=15000)
        expect(page.locator('#documents-table [data-status="completed"]')).to_have_count(2, timeout=20000)
        assert page.url.endswith("/documents")  # no reload: the table followed the stream

        page.goto("/chat")
        page.fill("#chat-query", "有休は何日もらえますか")
        page.keyboard.press("Enter")
        answer = page.locator(".chat-assistant").last
        expect(answer.locator(".chat-text")).to_contain_text("10日付与されます", timeout=10000)
        answer.locator("summary").click()
        expect(answer.locator(".sources a").first).to_have_text("休暇規程.txt")
        expect(page.locator(".chat-list a[aria-current=page]")).to_have_text("有休は何日もらえますか")
        assert page.problems == []
    finally:
        consumer.stop()


def test_the_chat_page_streams_the_answer_and_ime_enter_does_not_send(browser, org, llm_server):
    server, _, tenant_id = org
    llm_server.replies[:] = ["入社から6か月が過ぎると、有給休暇が10日付与されます。申請は3日前までです [1]"]
    llm_server.piece_delay = 0.12
    with server.app.test_request_context():
        add_document(tenant_id, PASSAGES)
        admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        tenants.add_provider_key(admin, provider="openai", model="gpt-4o", api_key=llm_server.api_key,
                                 base_url=f"{llm_server.url}/v1")
    try:
        page = browser_page(browser, server, email="admin@example.com")
        page.goto("/chat")
        page.fill("#chat-query", "有休は")
        page.locator("#chat-query").dispatch_event("keydown", {"key": "Enter", "isComposing": True, "keyCode": 229})
        page.wait_for_timeout(300)
        expect(page.locator(".chat-msg")).to_have_count(0)  # confirming a conversion sent nothing
        page.fill("#chat-query", "有休は何日もらえますか")
        page.keyboard.press("Enter")
        text = page.locator(".chat-assistant .chat-text")
        expect(text).to_contain_text("入社", timeout=10000)
        partial = text.text_content()
        assert "申請は3日前までです" not in partial  # seen while it was still being written
        expect(text).to_have_text("入社から6か月が過ぎると、有給休暇が10日付与されます。申請は3日前までです [1]")
        page.locator(".chat-assistant summary").click()
        expect(page.locator(".chat-assistant .passage").first).to_contain_text("有給休暇は入社6か月後")
        assert page.problems == []
    finally:
        llm_server.piece_delay = 0.0


def test_the_widget_answers_on_an_allowed_site_and_nowhere_else(browser, org):
    server, _, tenant_id = org
    with server.app.test_request_context():
        add_document(tenant_id, PASSAGES)
        admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
        embed = tenants.embed(admin, str(tenant_id))
    snippet = embed.snippet.replace("http://127.0.0.1:5000", server.url)  # PUBLIC_URL as this test serves it
    allowed, elsewhere = Site(snippet), Site(snippet)
    try:
        with server.app.test_request_context():
            admin = db.session.scalar(db.select(User).where(User.email == "admin@example.com"))
            tenants.set_allowed_origins(admin, [allowed.origin])
        context = browser.new_context(locale="ja-JP", viewport={"width": 390, "height": 800})
        page = context.new_page()
        problems = []
        page.on("pageerror", lambda error: problems.append(str(error)))
        page.goto(allowed.origin)
        launcher = page.locator("[data-agentdesk-widget] .launcher")
        expect(launcher).to_have_text("質問する")
        launcher.click()
        page.locator("[data-agentdesk-widget] textarea").fill("バックアップは何日保管されますか")
        page.keyboard.press("Enter")
        answer = page.locator("[data-agentdesk-widget] .msg.bot")
        expect(answer).to_contain_text("30日間保管されます", timeout=10000)
        expect(answer).to_contain_text("検索結果のみ")
        assert problems == []

        other = context.new_page()
        other.goto(elsewhere.origin)
        other.locator("[data-agentdesk-widget] .launcher").click()
        other.locator("[data-agentdesk-widget] textarea").fill("バックアップ")
        other.keyboard.press("Enter")
        expect(other.locator("[data-agentdesk-widget] .msg.err")).to_have_text("回答を取得できませんでした。")
        context.close()
    finally:
        allowed.stop()
        elsewhere.stop()
