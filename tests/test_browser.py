"""End to end in Debian's Chromium (Playwright): what a person does in the first five minutes.

Screenshots land in tests/artifacts/ for a human to look at.
"""

import pytest
from playwright.sync_api import expect

from tests.conftest import ARTIFACTS, PASSWORD
from tests.fake_idp import ProviderUser

pytestmark = pytest.mark.browser

@pytest.fixture
def live_app(live_server_factory):
    server = live_server_factory()
    server.app.config["LIVE_URL"] = server.url
    return server.app


@pytest.fixture
def page(browser, live_app, request):
    context = browser.new_context(locale="en-US", base_url=live_app.config["LIVE_URL"],
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    problems = []
    # ReDoc's bundle always shows Redocly's logo from their CDN; our CSP blocks that third-party
    # image on purpose (air-gapped installs, no tracking), and the page works without it.
    expected_blocks = ("cdn.redoc.ly/redoc/logo-mini.svg",)
    # Documents answered 4xx on purpose (a form with errors is a 422) log "Failed to load resource";
    # sub-resources are checked by status instead.
    page.on("console", lambda msg: problems.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            and not any(block in msg.text for block in expected_blocks) else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}")
            if r.request.resource_type in ("script", "stylesheet", "image", "font") and r.status >= 400 else None)
    yield page
    context.close()
    # A CSP violation, a script error, a missing asset or an SRI mismatch shows up here.
    assert problems == []


def shot(page, name: str, request) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    backend = request.node.callspec.params.get("database_url", "db")
    page.screenshot(path=str(ARTIFACTS / f"{name}-{backend}.png"), full_page=True)


def register_in_browser(page, email, username):
    page.goto("/auth/register")
    page.fill("#email", email)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.fill("#confirm", PASSWORD)
    page.click("button[type=submit].btn-primary")


def test_first_visit_leads_to_creating_the_admin_account(page, request):
    page.goto("/")
    expect(page).to_have_url("/auth/register")  # no account yet: no "please sign in" dead end
    expect(page.locator("h1")).to_have_text("Set up AgentDesk")
    page.fill("#email", "not-an-email")
    page.click("button[type=submit].btn-primary")
    expect(page.locator("#email-error")).to_contain_text("valid e-mail")
    shot(page, "register-errors", request)
    register_in_browser(page, "admin@example.com", "admin")
    expect(page.locator("h1")).to_have_text("Home")
    expect(page.locator(".toasts .flash-success")).to_have_text("Welcome to AgentDesk, admin!")
    expect(page.locator(".badge-admin")).to_have_text("Administrator")
    shot(page, "dashboard", request)


def test_sign_in_through_fake_github(page, idp, request):
    idp.sign_in("github", ProviderUser(4242, "octo-browser", "Octo Browser"))
    page.goto("/auth/login")
    page.click("text=Sign in with GitHub")
    expect(page.locator(".user-menu .whoami")).to_have_text("Octo Browser")
    expect(page.locator(".identities")).to_contain_text("octo-browser")
    expect(page.locator("a", has_text="Link GitLab")).to_be_visible()


def test_admin_finds_and_deactivates_a_user_without_a_reload(page, live_app, request):
    register_in_browser(page, "admin@example.com", "admin")
    expect(page.locator("h1")).to_have_text("Home")
    runner = live_app.test_cli_runner()
    for name in ("bob", "carol", "dave"):
        assert runner.invoke(args=["users", "create", f"{name}@example.com", "--password", PASSWORD,
                                   "--username", name]).exit_code == 0
    page.click("summary:has-text('Admin')")
    page.click(".menu-panel >> text=Users")
    page.wait_for_load_state("load")  # HTMX is wired up by then; a person is never faster
    expect(page.locator("#users-table .count")).to_have_text("4 users")
    page.evaluate("window.__noReload = true")
    page.fill("#q", "bob")
    expect(page.locator("#users-table .count")).to_have_text("1 user")
    expect(page).to_have_url("/admin/users?q=bob&active=&admin=&platform=")
    row = page.locator("tr", has_text="bob@example.com")
    row.locator("button", has_text="Deactivate").click()
    page.click("#confirm-ok")
    expect(row.locator(".badge-off")).to_have_text("Deactivated")
    expect(row.locator("button", has_text="Activate")).to_be_visible()
    page.select_option("select[name=active]", "no")
    expect(page.locator("#users-table .count")).to_have_text("1 user")
    # The last admin cannot demote themselves: the row says why, in place.
    page.select_option("select[name=active]", "")
    page.fill("#q", "admin")
    admin_row = page.locator("tr", has_text="admin@example.com")
    admin_row.locator("button", has_text="Revoke admin").click()
    page.click("#confirm-ok")
    expect(admin_row.locator(".flash-error")).to_contain_text("last administrator")
    assert page.evaluate("window.__noReload") is True
    page.fill("#q", "")
    expect(page.locator("#users-table .count")).to_have_text("4 users")
    shot(page, "admin-users", request)
    page.click("summary:has-text('Admin')")
    page.click(".menu-panel >> text=Audit log")
    expect(page.locator("#events-table")).to_contain_text("Deactivated a user")
    shot(page, "audit-log", request)


def test_reserve_a_login_refreshes_the_table(page, request):
    register_in_browser(page, "admin@example.com", "admin")
    page.goto("/admin/users")
    page.fill("#login", "bad login!")
    page.click("#preprovision button[type=submit]")
    expect(page.locator("#preprovision #login-error")).to_contain_text("exactly as on GitHub")
    page.fill("#login", "hubot")
    page.click("#preprovision button[type=submit]")
    expect(page.locator("#preprovision .flash-success")).to_contain_text("github:hubot is reserved")
    expect(page.locator("#users-table")).to_contain_text("github:hubot")


def test_language_switch(page, request):
    page.goto("/auth/login")
    expect(page.locator("h1")).to_have_text("Sign in to AgentDesk")
    shot(page, "login", request)
    page.click("button[lang=ja]")
    expect(page.locator("h1")).to_have_text("AgentDesk にサインイン")
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    shot(page, "login-ja", request)
    register_in_browser(page, "admin@example.com", "admin")
    expect(page.locator("h1")).to_have_text("ホーム")
    page.goto("/admin/users")
    shot(page, "admin-users-ja", request)
    page.click(".user-menu summary")
    page.click("button[lang=en]")
    expect(page.locator("h1")).to_have_text("Users")


def test_llm_settings_page_in_the_browser(page, live_app, llm_server, request):
    register_in_browser(page, "admin@example.com", "admin")
    page.click("nav >> text=LLM settings")
    page.wait_for_load_state("load")
    expect(page.locator("h1")).to_have_text("My LLM settings")
    page.select_option("#provider", "ollama")
    expect(page.locator("#provider-fields legend")).to_have_text("Ollama")
    expect(page.locator("#ollama_endpoint")).to_be_visible()
    page.select_option("#provider", "openai")
    expect(page.locator("#provider-fields legend")).to_have_text("OpenAI")
    page.fill("#openai_base_url", f"{llm_server.url}/v1")
    page.fill("#openai_api_key", llm_server.api_key)
    page.fill("#openai_model", "gpt-4o")
    page.fill("#max_llm_process_num", "many")
    page.click("button.btn-primary")
    expect(page.locator("#max_llm_process_num-error")).to_contain_text("whole number")
    page.fill("#max_llm_process_num", "200")
    page.fill("#openai_api_key", llm_server.api_key)
    page.click("button.btn-primary")
    expect(page.locator("#llm-form .flash-success")).to_have_text("Settings saved.")
    expect(page.locator(".keyline code")).to_have_text("sk-test-****...0000")
    page.click("text=Test connection")
    expect(page.locator("#probe")).to_contain_text("2 models available")
    expect(page.locator("#probe")).to_contain_text("gpt-4o-mini")
    shot(page, "llm-settings", request)
    page.click("nav >> text=My tokens")
    page.wait_for_load_state("load")
    page.fill("#name", "laptop")
    page.click("text=Create token")
    expect(page.locator("#new-token")).to_contain_text("adk_pat_")
    shot(page, "tokens", request)


def test_api_docs_render_in_the_browser(page, request):
    page.goto("/docs")
    expect(page.locator(".swagger-ui .opblock-summary-path").first).to_be_visible(timeout=15000)
    expect(page.locator(".swagger-ui")).to_contain_text("/v1/users/llm-configs/batch")
    shot(page, "swagger-ui", request)
    page.goto("/redoc")
    expect(page.locator("#redoc")).to_contain_text("Settings of up to 100 users in one call", timeout=15000)
    shot(page, "redoc", request)
