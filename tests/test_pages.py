"""Every page, as a person sees it: phone (390 × 844) and desktop (1280 × 800), Japanese and
English, light and dark. Each visit asserts no console error or CSP violation, no serious or
critical axe-core finding, nothing wider than the screen, and saves a screenshot in
tests/artifacts/pages/. Then the shell's behaviour: the phone menu, the confirmation dialog,
the theme switch, and pages that keep working when the CDN cannot be reached.
"""

import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.api_helpers import OPENAI, OPENAI_KEY, bearer, make_token, make_user, set_config
from tests.conftest import ARTIFACTS, PASSWORD, ROOT
from webapp.db.orm import db

pytestmark = pytest.mark.browser

AXE = (ROOT / "node_modules" / "axe-core" / "axe.min.js").read_text()
SHOTS = ARTIFACTS / "pages"
VIEWPORTS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}
ANONYMOUS_PAGES = {"login": "/auth/login", "register": "/auth/register"}
PAGES = {"home": "/", "llm-settings": "/settings/llm", "my-tokens": "/settings/tokens",
         "users": "/admin/users", "default-llm": "/admin/llm-default", "service-tokens": "/admin/tokens",
         "audit": "/admin/audit", "password": "/auth/password", "not-found": "/no-such-page"}
# Elements that must never wrap or be squeezed: a label broken mid-word is the bug this catches.
UNBREAKABLE = ".btn, .badge, th, time, .navlink, .segmented button"


def populate(app):
    """An instance with some history: an admin, people with and without logins, settings,
    tokens (one about to expire), and agent calls in the audit log."""
    admin = make_user(app, "admin@example.com", github="admin-gh", admin=True)
    octo = make_user(app, "octo@example.com", github="octo", gitlab="octo-lab")
    make_user(app, "newcomer@example.com")
    PAGES["user-page"] = f"/admin/users/{octo}"
    set_config(app, None, OPENAI, api_key=OPENAI_KEY)
    set_config(app, octo, {**OPENAI, "openai_model": "gpt-4o-mini"})
    _, raw = make_token(app)
    make_token(app, kind="personal", owner_id=admin, expires_in_days=7)
    client = app.test_client()
    for login in ("admin-gh", "octo", "nobody"):
        client.get(f"/v1/users/github/{login}/llm-config", headers=bearer(raw))
    client.get("/v1/users/github/octo/llm-config", headers=bearer("adk_svc_wrong"))
    # Tasks: one running with logs, metrics and an error (and its auto-fix), one done, one queued.
    url = "/api/v1/tasks"
    running = client.post(url, json={"title": "リファクタリング: 認証モジュールの整理と長いタイトルの折り返し確認",
                                     "user": "github:admin-gh", "priority": "HIGH",
                                     "description": "Split accounts/service.py into smaller modules."},
                          headers=bearer(raw)).json["data"]["id"]
    client.patch(f"{url}/{running}/status", json={"status": "PROCESSING", "message": "Running the test suite"},
                 headers=bearer(raw))
    client.patch(f"{url}/{running}/progress", json={"progress": 65, "estimatedTimeRemaining": 420},
                 headers=bearer(raw))
    client.post(f"{url}/{running}/logs", headers=bearer(raw), json={"logs": [
        {"level": level, "message": message} for level, message in [
            ("INFO", "Cloning repository github.com/example/agentdesk"), ("DEBUG", "git checkout -b refactor/auth"),
            ("INFO", "データベースクエリを実行中..."), ("WARN", "Deprecated call: datetime.utcnow()"),
            ("ERROR", "tests/test_auth.py::test_login FAILED: AssertionError: expected 302, got 500 " + "x" * 80),
            ("INFO", "Retrying with a clean virtualenv")] * 3]})
    for minute, (cpu, memory) in enumerate([(12, 300), (48, 420), (85, 512), (40, 480)]):
        client.post(f"{url}/{running}/metrics", headers=bearer(raw), json={
            "cpuUsage": cpu, "memoryUsage": memory, "diskUsage": 1024 + minute * 10, "networkUsage": 200 * minute,
            "timestamp": f"2026-11-28T10:0{minute}:00Z"})
    client.post(f"{url}/{running}/errors", headers=bearer(raw), json={
        "errorCode": "TEST_FAILURE", "message": "1 test failed", "details": "Fix the login redirect",
        "stackTrace": "Traceback (most recent call last):\n  File \"tests/test_auth.py\", line 12",
        "autoFixRequested": True})
    client.post(f"{url}/{running}/errors", headers=bearer(raw), json={"errorCode": "LINT", "message": "ruff: 3 errors"})
    done = client.post(url, json={"title": "Update dependencies", "user": "github:admin-gh"}, headers=bearer(raw))
    done_id = done.json["data"]["id"]
    client.patch(f"{url}/{done_id}/status", json={"status": "PROCESSING"}, headers=bearer(raw))
    client.patch(f"{url}/{done_id}/status", json={"status": "COMPLETED", "message": "All green"}, headers=bearer(raw))
    client.post(url, json={"title": "Write the changelog", "user": "github:octo"}, headers=bearer(raw))
    PAGES["tasks"] = "/tasks"
    PAGES["task"] = f"/tasks/{running}"
    # Usage keys: two waiting, one approved and used (by the shell), one approved by mail, one rejected.
    for name, email in (("山田 太郎", "taro@example.com"), ("Tom Hanks", "tomtom@example.com"),
                        ("Grace Hopper", "grace@example.com"), ("Linus", "linus@example.com"),
                        ("A very long requester name that goes on and on", "a.very.long.address@subdomain.example.com")):
        client.post("/usagekey", json={"username": name, "email": email})
    usage = app.test_cli_runner().invoke(args=["usage-keys", "approve", "grace@example.com", "--quota", "40"])
    usage_raw = usage.output.strip().splitlines()[-1]
    for _ in range(3):
        client.post("/codereview", json={"source_base64": "ZGVmIGYoKTogcGFzcwo=", "language": "Python"},
                    headers={"x-api-key": usage_raw})
    with app.app_context():
        from webapp.accounts.models import User
        from webapp.mail.models import MailMessage
        from webapp.tokens.models import ApiToken
        from webapp.usage_keys import service as usage_keys

        actor = db.session.get(User, admin)
        by_email = {k.contact_email: k.id for k in db.session.scalars(db.select(ApiToken).where(ApiToken.kind == "usage"))}
        usage_keys.approve(actor, by_email["tomtom@example.com"], quota=100, expires_on=None, ip="127.0.0.1")
        usage_keys.reject(actor, by_email["linus@example.com"], reason="Use the team's shared key.", ip="127.0.0.1")
        approved = db.session.scalars(db.select(MailMessage).where(MailMessage.kind == "usage_key.approved")).one()
        ANONYMOUS_PAGES["reveal"] = approved.text_body.split("http://127.0.0.1:5000", 1)[1].split()[0]
        PAGES["outbox-message"] = f"/admin/outbox/{approved.id}"
        PAGES["usage-key"] = f"/admin/usage-keys/{by_email['grace@example.com']}"
    PAGES["usage-keys"] = "/admin/usage-keys"
    PAGES["usage-keys-approved"] = "/admin/usage-keys?tab=active"
    PAGES["outbox"] = "/admin/outbox"
    PAGES["review"] = "/review"
    PAGES["review-rules"] = "/admin/review-rules"
    # Spec 001: documents in every state, a conversation with its sources, usage to chart.
    with app.app_context():
        from tests.test_rag_chat import PASSAGES
        from tests.test_retrieval import add_document
        from webapp.documents.models import Document

        tenant_id = db.session.get(User, admin).tenant_id
        add_document(tenant_id, PASSAGES)
        for status, reason in (("failed", "no text was found in it (a scanned PDF needs text recognition first)"),
                               ("processing", None)):
            db.session.add(Document(tenant_id=tenant_id, file_name=f"{status}-社内規程集-2026年版.pdf",
                                    stored_name=f"{status}{'0' * 24}", file_type="pdf", file_size=61_234_567,
                                    sha256="0" * 64, title=f"社内規程集 2026年版 ({status})", status=status,
                                    progress=42, failure_reason=reason))
        db.session.commit()
    jwt = client.post("/api/v1/auth/login", json={"email": "admin@example.com", "password": PASSWORD}).json
    conversation = client.post("/api/v1/chats/rag", json={"query": "有休は何日もらえますか"},
                               headers=bearer(jwt["access_token"])).json["conversation_id"]
    PAGES["documents"] = "/documents"
    PAGES["chat"] = f"/chat/{conversation}"
    PAGES["organisation"] = "/organisation"
    PAGES["usage"] = "/usage"
    PAGES["billing"] = "/billing"


def sign_in(page, email="admin@example.com"):
    page.goto("/auth/login")
    page.fill("#login", email)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit].btn-primary")
    expect(page.locator(".user-menu")).to_be_visible()
    page.wait_for_load_state("load")  # app.js (deferred) has run: a click before it did nothing under load


def watch(page) -> list[str]:
    problems: list[str] = []
    page.on("console", lambda msg: problems.append(f"console: {msg.text}")
            if msg.type == "error" and not msg.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda exc: problems.append(f"script: {exc}"))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.request.resource_type in ("script", "stylesheet", "image", "font") and r.status >= 400 else None)
    return problems


def serious_axe_findings(page) -> list[str]:
    page.evaluate(AXE)  # through the debugging protocol: the page's CSP rightly refuses inline scripts
    return page.evaluate("""async () => {
        const result = await axe.run(document, {resultTypes: ["violations"]});
        return result.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => `${v.id}: ${v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(" | ")}`);
    }""")


def layout_problems(page) -> list[str]:
    return page.evaluate("""(selector) => {
        const found = [];
        const root = document.documentElement;
        if (root.scrollWidth > window.innerWidth + 1) found.push(`page is ${root.scrollWidth}px wide`);
        for (const el of document.querySelectorAll(selector)) {
            if (!el.offsetParent || el.closest(".table-wrap")) continue;  // hidden, or inside a scroller
            if (el.scrollWidth > el.clientWidth + 1)
                found.push(`squeezed: ${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}"`);
        }
        return found;
    }""", UNBREAKABLE)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_every_page_in_both_languages_and_themes(browser, live_server_factory, viewport, request):
    server = live_server_factory()
    populate(server.app)
    SHOTS.mkdir(parents=True, exist_ok=True)
    backend = request.node.callspec.params.get("database_url", "db")
    report: dict[str, list[str]] = {}
    for locale in ("ja-JP", "en-US"):
        for scheme in ("light", "dark"):
            context = browser.new_context(locale=locale, color_scheme=scheme, base_url=server.url,
                                          viewport=VIEWPORTS[viewport])
            page = context.new_page()
            problems = watch(page)
            visits = [(name, path, False) for name, path in ANONYMOUS_PAGES.items()]
            visits += [(name, path, True) for name, path in PAGES.items()]
            signed_in = False
            for name, path, needs_sign_in in visits:
                if needs_sign_in and not signed_in:
                    sign_in(page)
                    signed_in = True
                page.goto(path)
                expect(page.locator("h1")).to_be_visible()
                assert page.locator("html").get_attribute("lang") == locale[:2]
                found = serious_axe_findings(page) + layout_problems(page) + problems[:]
                problems.clear()
                if found:
                    report[f"{name} {viewport} {locale} {scheme}"] = found
                page.screenshot(path=str(SHOTS / f"{name}-{viewport}-{locale[:2]}-{scheme}-{backend}.png"),
                                full_page=True)
            context.close()
    assert report == {}


def test_phone_menu_opens_and_the_admin_group_is_inside(browser, live_server_factory):
    server = live_server_factory()
    make_user(server.app, "admin@example.com", admin=True)
    context = browser.new_context(locale="en-US", base_url=server.url, viewport=VIEWPORTS["phone"])
    page = context.new_page()
    sign_in(page)
    nav = page.locator("#site-nav")
    expect(nav).to_be_hidden()
    page.click(".nav-toggle")
    expect(nav).to_be_visible()
    expect(page.locator(".nav-toggle")).to_have_attribute("aria-expanded", "true")
    page.click("summary:has-text('Admin')")
    page.click(".menu-panel a:has-text('Service tokens')")
    expect(page.locator("h1")).to_have_text("Service tokens")
    context.close()


@pytest.fixture
def admin_page(browser, live_server_factory):
    """An admin signed in at desktop width, in English, on an instance with one more user: bob."""
    server = live_server_factory()
    make_user(server.app, "admin@example.com", admin=True)
    make_user(server.app, "bob@example.com")
    context = browser.new_context(locale="en-US", base_url=server.url, viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    page.problems = watch(page)
    sign_in(page)
    yield page
    context.close()


def test_deactivating_asks_first_in_a_dialog(admin_page):
    page, problems = admin_page, admin_page.problems
    page.on("dialog", lambda dialog: problems.append(f"native dialog: {dialog.message}"))
    page.goto("/admin/users")
    row = page.locator("tr", has_text="bob@example.com")
    row.locator("button", has_text="Deactivate").click()
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Deactivate bob?")
    page.keyboard.press("Escape")  # cancelled: nothing changes
    expect(dialog).to_be_hidden()
    expect(row.locator(".badge-ok")).to_have_text("Active")
    row.locator("button", has_text="Deactivate").click()
    dialog.locator("#confirm-ok").click()
    expect(row.locator(".badge-off")).to_have_text("Deactivated")
    # A plain form (no HTMX request) asks too: the user's own page, and the home page.
    row.locator("a", has_text="bob").click()
    page.wait_for_load_state("load")
    page.locator(".page-head button", has_text="Activate").click()  # activating asks nothing
    expect(page.locator(".page-head .badge-ok")).to_have_text("Active")
    page.locator(".page-head button", has_text="Make admin").click()
    expect(dialog).to_contain_text("Make bob an administrator?")
    page.keyboard.press("Escape")
    expect(page.locator(".page-head .badge-admin")).to_have_count(0)
    page.goto("/")
    page.locator("button", has_text="Sign out everywhere").click()
    expect(dialog).to_contain_text("Sign out on every device")
    dialog.locator("#confirm-ok").click()
    expect(page).to_have_url(re.compile(r"/auth/login"))
    assert problems == []


def test_theme_choice_is_kept_on_the_account(browser, live_server_factory):
    server = live_server_factory()
    make_user(server.app, "admin@example.com", admin=True)
    context = browser.new_context(locale="en-US", color_scheme="light", base_url=server.url,
                                  viewport=VIEWPORTS["desktop"])
    page = context.new_page()
    sign_in(page)
    background = "() => getComputedStyle(document.documentElement).backgroundColor"
    light = page.evaluate(background)
    page.click(".user-menu summary")
    page.click(".user-menu button[value=dark]")
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    assert page.evaluate(background) != light
    context.close()
    again = browser.new_context(locale="en-US", color_scheme="light", base_url=server.url)
    page = again.new_page()
    sign_in(page)  # another browser: the choice came with the account
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    again.close()


def vendored(url: str) -> Path:
    return ROOT / "webapp" / "static" / "vendor" / url.rsplit("/", 1)[-1]


@pytest.mark.parametrize("cdn", ["reachable", "unreachable"])
def test_pages_work_with_and_without_the_cdn(browser, live_server_factory, cdn):
    server = live_server_factory(ASSET_MODE="cdn")
    make_user(server.app, "admin@example.com", admin=True)
    context = browser.new_context(locale="en-US", base_url=server.url, viewport=VIEWPORTS["desktop"])
    fetched: list[str] = []

    def cdn_route(route):
        fetched.append(route.request.url)
        if cdn == "unreachable":
            route.abort("internetdisconnected")
        else:  # the CDN answers with the pinned file: SRI must accept it
            route.fulfill(path=str(vendored(route.request.url)), headers={"Access-Control-Allow-Origin": "*"})

    context.route("https://cdn.jsdelivr.net/**", cdn_route)
    page = context.new_page()
    problems = watch(page)
    sign_in(page)
    expect(page.locator("#activity-chart")).to_have_attribute("data-drawn", "1")  # Chart.js ran
    page.goto("/settings/llm")
    page.select_option("#provider", "ollama")  # an HTMX swap: htmx came from the CDN or its copy
    expect(page.locator("#provider-fields legend")).to_have_text("Ollama")
    page.goto("/docs")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible(timeout=15000)
    page.goto("/redoc")
    expect(page.locator("#redoc")).to_contain_text("Settings of up to 100 users in one call", timeout=15000)
    assert any("htmx.min.js" in url for url in fetched)
    local = [p for p in problems if not p.startswith("console: Failed to find a valid digest")]
    if cdn == "unreachable":
        # Chromium reports the failed CDN fetch itself; nothing else may go wrong.
        local = [p for p in local if "ERR_INTERNET_DISCONNECTED" not in p]
    assert [p for p in local if "cdn.redoc.ly" not in p] == []
    context.close()


def settled(page, action) -> None:
    """Do something that makes an HTMX request, and wait until its answer has been swapped in and
    settled: HTMX wires up new content only then (a person is never that fast; a test is)."""
    page.evaluate("window.__settled = false; document.body.addEventListener('htmx:afterSettle', "
                  "() => { window.__settled = true; }, {once: true})")
    action()
    page.wait_for_function("() => window.__settled === true")


def test_newcomers_walkthrough_on_a_phone_without_internet(browser, live_server_factory, llm_server):
    """Sign up, settings for each provider, a token, the users page, the audit export: at 390 px,
    with the default ASSET_MODE=cdn and the CDN unreachable."""
    server = live_server_factory(ASSET_MODE="cdn")
    context = browser.new_context(locale="en-US", base_url=server.url, viewport=VIEWPORTS["phone"],
                                  accept_downloads=True)
    context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort("internetdisconnected"))
    page = context.new_page()
    problems = watch(page)
    page.goto("/")
    expect(page.locator("h1")).to_have_text("Set up AgentDesk")
    page.fill("#email", "admin@example.com")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit].btn-primary")
    expect(page.locator("h1")).to_have_text("Home")
    page.click(".nav-toggle")
    page.click("#site-nav >> text=LLM settings")
    page.wait_for_load_state("load")  # a person cannot change the select before the page has loaded
    for provider, legend, field, value in (("lmstudio", "LM Studio", "#lmstudio_base_url", "localhost:1234"),
                                           ("ollama", "Ollama", "#ollama_endpoint", "localhost:11434"),
                                           ("openai", "OpenAI", "#openai_base_url", f"{llm_server.url}/v1")):
        settled(page, lambda: page.select_option("#provider", provider))
        expect(page.locator("#provider-fields legend")).to_have_text(legend)
        page.fill(field, value)
        settled(page, lambda: page.click("#llm-form button.btn-primary"))
        expect(page.locator("#llm-form .flash-success")).to_contain_text("Settings saved.")
    page.fill("#openai_api_key", llm_server.api_key)
    settled(page, lambda: page.click("#llm-form button.btn-primary"))
    expect(page.locator(".keyline code")).to_have_text("sk-test-****...0000")
    page.click("text=Test connection")
    expect(page.locator("#probe")).to_contain_text("2 models available")
    assert layout_problems(page) == []
    page.click(".nav-toggle")
    page.click("#site-nav >> text=My tokens")
    page.fill("#name", "phone")
    page.click("text=Create token")
    expect(page.locator("#new-token")).to_contain_text("adk_pat_")
    page.click(".nav-toggle")
    page.click("summary:has-text('Admin')")
    page.click("#site-nav .menu-panel >> text=Users")
    expect(page.locator("h1")).to_have_text("Users")
    assert layout_problems(page) == []
    page.click(".nav-toggle")
    page.click("summary:has-text('Admin')")
    page.click("#site-nav .menu-panel >> text=Audit log")
    page.wait_for_load_state("load")
    page.select_option("select[name=outcome]", "success")
    expect(page.locator("#export-csv")).to_have_attribute("href", "/admin/audit/export.csv?outcome=success")
    with page.expect_download() as download:
        page.click("#export-csv")
    csv_text = Path(download.value.path()).read_text()
    assert csv_text.startswith("created_at,action") and "token.create" in csv_text and ",failure," not in csv_text
    page.screenshot(path=str(SHOTS / "walkthrough-phone-offline.png"), full_page=True)
    assert [p for p in problems if "ERR_INTERNET_DISCONNECTED" not in p] == []
    context.close()


def test_keyboard_reaches_the_menus_and_the_dialog(admin_page):
    page = admin_page
    page.keyboard.press("Tab")
    expect(page.locator(".skip-link")).to_be_focused()
    page.locator(".admin-menu summary").focus()
    page.keyboard.press("Enter")
    expect(page.locator(".admin-menu .menu-panel")).to_be_visible()
    page.keyboard.press("Tab")
    expect(page.locator(".admin-menu .menu-panel a").first).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator(".admin-menu .menu-panel")).to_be_hidden()
    page.goto("/admin/users")
    page.locator("tr", has_text="bob@example.com").locator("button", has_text="Deactivate").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.keyboard.press("Tab")  # from Cancel to the confirming button
    expect(page.locator("#confirm-ok")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("tr", has_text="bob@example.com").locator(".badge-off")).to_have_text("Deactivated")
