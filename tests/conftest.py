"""Fixtures: the app on SQLite and on a real PostgreSQL, a client, a fake GitHub/GitLab, helpers."""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
from cryptography.fernet import Fernet
from sqlalchemy import text

from tests.fake_idp import RunningIdP
from tests.postgres import PostgresServer
from webapp import create_app
from webapp.db.orm import db

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
SECRET = "test-secret-key-that-is-long-enough-0123456789"
ENCRYPTION_KEY = Fernet.generate_key().decode()
PASSWORD = "Passw0rd!"
# Background jobs queue into a file of the test session's own (never the repository's instance/).
JOBS_DIR = Path(__import__("tempfile").mkdtemp(prefix="agentdesk-jobs-"))
BACKENDS = [b for b in os.environ.get("TEST_DATABASES", "sqlite,postgresql").split(",") if b]


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request, tmp_path_factory):
    """Each backend once per session: tests that touch the database run on both."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.db'}"
        return
    if os.environ.get("TEST_POSTGRES_URL"):
        yield os.environ["TEST_POSTGRES_URL"]
        return
    server = PostgresServer()
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def redis_url():
    """A real redis-server for tests of state shared between processes."""
    from tests.redis_server import RedisServer

    server = RedisServer()
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture(scope="session")
def llm_server():
    from tests.fake_llm import FakeLLM

    with FakeLLM() as server:
        yield server


@pytest.fixture(scope="session")
def idp():
    with RunningIdP() as running:
        running.clients.update({"gh-client": "gh-secret", "gl-client": "gl-secret"})
        yield running


def make_env(database_url: str, idp_url: str, **extra) -> dict:
    env = {
        "APP_ENV": "testing",
        "SECRET_KEY": SECRET,
        "ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "DATABASE_URL": database_url,
        "GITHUB_CLIENT_ID": "gh-client",
        "GITHUB_CLIENT_SECRET": "gh-secret",
        "GITHUB_BASE_URL": idp_url,
        "GITHUB_API_URL": f"{idp_url}/api/v3",
        "GITLAB_CLIENT_ID": "gl-client",
        "GITLAB_CLIENT_SECRET": "gl-secret",
        "GITLAB_BASE_URL": idp_url,
        "ASSET_MODE": "local",
        "JOBS_URL": f"sqlite:///{JOBS_DIR / 'jobs.sqlite3'}",
    }
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def migrated(database_url, idp):
    """Run the real Alembic migrations once per backend."""
    from flask_migrate import upgrade

    app = create_app(env=make_env(database_url, idp.url))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return database_url


def _wipe(app) -> None:
    with app.app_context():
        db.session.remove()
        tables = list(reversed(db.metadata.sorted_tables))
        with db.engine.begin() as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("TRUNCATE " + ", ".join(t.name for t in tables) + " RESTART IDENTITY CASCADE"))
            else:
                for table in tables:
                    conn.execute(table.delete())
        db.engine.dispose()


@pytest.fixture
def app_env(migrated, idp):
    """The environment the app under test reads; tests may add to it and build their own app.

    Whatever a test wrote is wiped afterwards, however many apps it built.
    """
    yield make_env(migrated, idp.url)
    _wipe(create_app(env=make_env(migrated, idp.url)))


@pytest.fixture
def app(app_env):
    return create_app(env=app_env, overrides={"TESTING": True})


@pytest.fixture
def client(app):
    """A browser that prefers English; i18n tests ask for Japanese explicitly."""
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(client) -> str:
    """Any page renders base.html, whose language switch carries the session's CSRF token."""
    page = client.get("/__csrf__").get_data(as_text=True)
    return CSRF_RE.search(page).group(1)


def post(client, url: str, data: dict | None = None, **kwargs):
    data = dict(data or {})
    data.setdefault("csrf_token", csrf_token(client))
    return client.post(url, data=data, **kwargs)


def register(client, email="alice@example.com", username="alice", password=PASSWORD, **extra):
    return post(client, "/auth/register", {"email": email, "username": username, "password": password,
                                           "confirm": password, **extra})


def login(client, login_name="alice@example.com", password=PASSWORD, **extra):
    return post(client, "/auth/login", {"login": login_name, "password": password, **extra})


def logout(client):
    return post(client, "/auth/logout")


def oauth_sign_in(client, platform: str, action: str = "login"):
    """Drive the whole authorization-code flow: app -> fake provider -> app callback."""
    start = client.get(f"/auth/{platform}/{action}")
    assert start.status_code == 302, start.get_data(as_text=True)
    at_provider = requests.get(start.location, allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    return client.get(f"{back.path}?{back.query}")


@pytest.fixture
def admin_client(client):
    """A client signed in as the first (hence admin) local user."""
    assert register(client, "admin@example.com", "admin").status_code == 302
    return client


def users_by_email(app):
    from webapp.accounts.models import User

    with app.app_context():
        return {u.email: u for u in db.session.scalars(db.select(User))}


class LiveServer:
    """The app served over real HTTP by werkzeug in a thread."""

    def __init__(self, app):
        import threading

        from werkzeug.serving import make_server

        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        self.server.shutdown()


@pytest.fixture
def live_server_factory(app_env):
    """Build and serve apps with extra settings; all stopped after the test."""
    servers = []

    def start(**settings) -> LiveServer:
        server = LiveServer(create_app(env={**app_env, **settings}))
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-sync",
                 "--disable-background-networking", "--disable-component-update"]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, driven by Playwright: one for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def browser_page(browser, server, *, email: str | None = None, width: int = 1280, cdn_down: bool = True):
    """A new page on `server` (English; the CDN unreachable unless told), signed in as `email` if
    given; `page.problems` collects the page's script errors."""
    context = browser.new_context(locale="en-US", base_url=server.url, viewport={"width": width, "height": 900})
    if cdn_down:
        context.route("https://cdn.jsdelivr.net/**", lambda route: route.abort("internetdisconnected"))
    page = context.new_page()
    page.problems = []
    page.on("pageerror", lambda exc: page.problems.append(str(exc)))
    if email:
        page.goto("/auth/login")
        page.fill("#login", email)
        page.fill("#password", PASSWORD)
        page.click("button[type=submit].btn-primary")
        page.locator(".user-menu").wait_for()
    return page
