"""Errors, security headers, cookies, configuration and assets: what every request relies on."""

import base64
import hashlib
import re
from pathlib import Path

import pytest

from tests.conftest import ENCRYPTION_KEY, SECRET, post, register
from webapp import config as config_module
from webapp.config import ConfigError
from webapp.web.assets import ASSETS, CDN_ORIGIN

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("path, family_keys", [
    ("/v1/users/github/x/nope", {"status", "error"}),
    ("/config/nope/x/y", {"status", "error"}),
    ("/api/v1/tasks/x/nope", {"success", "error", "timestamp"}),
    ("/api/v1/nope", {"detail", "error_code", "timestamp"}),
    ("/api/nope", {"success", "error", "timestamp"}),
])
def test_unknown_api_paths_get_json_404_in_their_family_envelope(client, path, family_keys):
    response = client.get(path)
    assert response.status_code == 404 and response.is_json
    assert set(response.json) == family_keys


def test_unknown_page_gets_the_html_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in response.get_data(as_text=True)
    assert response.mimetype == "text/html"


def test_unexpected_error_gets_500_page_without_a_trace(app, client):
    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    @app.get("/v1/boom")
    def api_boom():
        raise RuntimeError("secret internals")

    html = client.get("/boom")
    assert html.status_code == 500 and "Something went wrong" in html.get_data(as_text=True)
    assert "secret internals" not in html.get_data(as_text=True) and "Traceback" not in html.get_data(as_text=True)
    api = client.get("/v1/boom")
    assert api.status_code == 500
    assert api.json == {"status": "error", "error": {"code": "INTERNAL_SERVER_ERROR",
                                                     "message": "An unexpected error occurred"}}


def test_security_headers_on_pages(client):
    response = client.get("/auth/login")
    csp = response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self';" in csp and "object-src 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_cdn_mode_allows_exactly_the_pinned_files_and_uses_sri(app_env):
    from webapp import create_app

    app_env["ASSET_MODE"] = "cdn"
    client = create_app(env=app_env).test_client()
    response = client.get("/auth/login")
    htmx_url = CDN_ORIGIN + "/npm/htmx.org@" + ASSETS["htmx"]["version"] + "/dist/htmx.min.js"
    chart_url = CDN_ORIGIN + "/npm/chart.js@" + ASSETS["chart"]["version"] + "/dist/chart.umd.min.js"
    socketio_url = CDN_ORIGIN + "/npm/socket.io-client@" + ASSETS["socketio"]["version"] + "/dist/socket.io.min.js"
    assert f"script-src 'self' {htmx_url} {chart_url} {socketio_url};" in response.headers["Content-Security-Policy"]
    assert f"{CDN_ORIGIN} " not in response.headers["Content-Security-Policy"] + " "  # never the whole CDN
    html = response.get_data(as_text=True)
    htmx = ASSETS["htmx"]
    assert f'src="{CDN_ORIGIN}/npm/htmx.org@{htmx["version"]}/dist/htmx.min.js" integrity="{htmx["integrity"]}"' in html


def test_vendored_htmx_matches_the_pinned_version_and_sri_hash():
    """ASSET_MODE=local serves the very bytes the CDN serves: same version, same hash."""
    import json

    htmx = ASSETS["htmx"]
    lock = json.loads((ROOT / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/htmx.org"]["version"] == htmx["version"]
    data = (ROOT / "webapp/static/vendor/htmx.min.js").read_bytes()
    assert "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode() == htmx["integrity"]


def test_every_page_sends_the_csrf_token_with_htmx_requests(client):
    html = client.get("/auth/login").get_data(as_text=True)
    assert re.search(r"""<body hx-headers='\{"X-CSRFToken": ?"[^"]+"\}'>""", html)


def test_session_cookie_flags(client):
    register(client)
    cookie = client.get_cookie("agentdesk_session")
    assert cookie.http_only and cookie.same_site == "Lax"


def test_production_mail_needs_the_public_address_for_its_links(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": SECRET, "ENCRYPTION_KEYS": ENCRYPTION_KEY,
           "JWT_SIGNING_KEYS": "k1:" + "s" * 40, "METRICS_TOKEN": "m" * 32, "MAIL_SERVER": "smtp.example.com"}
    with pytest.raises(ConfigError, match="PUBLIC_URL"):
        config_module.load(tmp_path, env=env)
    assert config_module.load(tmp_path, env={**env, "PUBLIC_URL": "https://desk.example.com"})["PUBLIC_URL"] == \
        "https://desk.example.com"


def test_production_cookies_are_secure_and_a_secret_is_required(tmp_path):
    env = {"APP_ENV": "production", "SECRET_KEY": SECRET, "ENCRYPTION_KEYS": ENCRYPTION_KEY, "METRICS_TOKEN": "m" * 32,
           "JWT_SIGNING_KEYS": "2026-11:" + "j" * 40}
    config = config_module.load(tmp_path, env=env)
    assert config["SESSION_COOKIE_SECURE"] and config["REMEMBER_COOKIE_SECURE"]
    with pytest.raises(ConfigError, match="SECRET_KEY must be set"):
        config_module.load(tmp_path, env={"APP_ENV": "production", "ENCRYPTION_KEYS": ENCRYPTION_KEY})
    with pytest.raises(ConfigError, match="placeholder"):
        config_module.load(tmp_path, env={**env, "SECRET_KEY": "change-me"})
    with pytest.raises(ConfigError, match="ENCRYPTION_KEYS"):
        config_module.load(tmp_path, env={"APP_ENV": "production", "SECRET_KEY": SECRET})
    with pytest.raises(ConfigError, match="JWT_SIGNING_KEYS must be set"):
        config_module.load(tmp_path, env={key: value for key, value in env.items() if key != "JWT_SIGNING_KEYS"})
    with pytest.raises(ConfigError, match="at least 32 characters"):
        config_module.load(tmp_path, env={**env, "JWT_SIGNING_KEYS": "k1:short"})


def test_development_generates_and_keeps_its_secrets_in_instance(tmp_path):
    first = config_module.load(tmp_path, env={})
    second = config_module.load(tmp_path, env={})
    assert first["SECRET_KEY"] == second["SECRET_KEY"] and len(first["SECRET_KEY"]) >= 48
    assert first["ENCRYPTION_KEYS"] == second["ENCRYPTION_KEYS"]
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600
    assert first["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path}/agentdesk.db"
    assert not first["SESSION_COOKIE_SECURE"]


@pytest.mark.parametrize("value, expected", [
    ("github:Alice, gitlab:bob", {("github", "alice"), ("gitlab", "bob")}),
    ("", set()),
])
def test_admin_users_parsing(value, expected):
    assert config_module.parse_admin_users(value) == expected


@pytest.mark.parametrize("value", ["alice", "bitbucket:alice", "github:"])
def test_admin_users_rejects_malformed_entries(value):
    with pytest.raises(ConfigError, match="ADMIN_USERS"):
        config_module.parse_admin_users(value)


def test_postgres_urls_use_psycopg3():
    assert config_module.normalize_database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert config_module.normalize_database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"
    assert config_module.normalize_database_url("sqlite:///x.db") == "sqlite:///x.db"


def test_error_pages_carry_retry_after_only_from_a_rate_limit(app_env):
    from webapp import create_app

    app = create_app(env={**app_env, "AUTH_RATE_LIMIT": "2 per minute"})

    @app.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    for _ in range(2):
        assert post(client, "/auth/login", {"login": "x", "password": "wrong"}).status_code == 422
    limited = post(client, "/auth/login", {"login": "x", "password": "wrong"})
    assert limited.status_code == 429 and limited.mimetype == "text/html"
    assert 0 < int(limited.headers["Retry-After"]) <= 60
    broken = client.get("/boom")
    assert broken.status_code == 500 and "Retry-After" not in broken.headers


def test_health_reports_the_database(client):
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json == {"status": "healthy", "components": {"database": "ok"}}


def test_health_is_503_when_the_database_is_gone(app_env, tmp_path):
    from webapp import create_app

    app_env["DATABASE_URL"] = f"sqlite:///{tmp_path}/missing-dir/nope.db"
    response = create_app(env=app_env).test_client().get("/health")
    assert response.status_code == 503
    assert response.json == {"status": "unhealthy", "components": {"database": "unavailable"}}
