"""The page shell without a browser: vendored files, first visit, theme, navigation, audit export."""

import base64
import hashlib
import re

from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config
from tests.conftest import ROOT, csrf_token, post, register
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.web.assets import ASSETS

HX = {"HX-Request": "true"}


def test_vendored_files_are_the_pinned_cdn_files():
    """The committed copies (ASSET_MODE=local, and the CDN fallback) carry the same SRI hash as the
    CDN tags, so a browser accepts them and they cannot drift from package.json's versions."""
    for name, asset in ASSETS.items():
        data = (ROOT / "webapp" / "static" / "vendor" / asset["file"].rsplit("/", 1)[-1]).read_bytes()
        digest = "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()
        assert digest == asset["integrity"], name


def test_cdn_tags_name_their_local_fallback(app_env, live_server_factory):
    server = live_server_factory(ASSET_MODE="cdn")
    html = server.app.test_client().get("/auth/login").get_data(as_text=True)
    assert re.search(r'<script src="/static/js/boot.js"></script>\s*<script src="https://cdn.jsdelivr.net/npm/'
                     r'htmx.org@2.0.8/dist/htmx.min.js" integrity="sha384-[^"]+" crossorigin="anonymous" '
                     r'data-fallback="/static/vendor/htmx.min.js" defer>', html)


def test_first_visit_to_an_empty_instance_goes_to_creating_the_admin(client):
    response = client.get("/")
    assert response.status_code == 302 and response.location == "/auth/register"
    page = client.get("/auth/register").get_data(as_text=True)
    assert "Set up AgentDesk" in page and "becomes the administrator" in page
    assert "Create the first account" in client.get("/auth/login").get_data(as_text=True)
    register(client)
    client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    response = client.get("/")  # from now on, signed-out visitors are asked to sign in
    assert response.status_code == 302 and response.location == "/auth/login?next=%2F"
    assert "Create the first account" not in client.get("/auth/login").get_data(as_text=True)


def test_first_visit_with_closed_registration_explains_the_cli(app_env, live_server_factory):
    client = live_server_factory(REGISTRATION_OPEN="false").app.test_client()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
    assert "flask --app wsgi users create" in client.get("/auth/login").get_data(as_text=True)


def test_theme_is_stored_on_the_account_and_unknown_values_are_ignored(client, app):
    register(client)
    assert 'data-theme' not in client.get("/").get_data(as_text=True)  # follows the device
    post(client, "/theme", {"theme": "dark", "next": "/"})
    assert '<html lang="en" data-theme="dark">' in client.get("/", headers={"Accept-Language": "en"}).get_data(
        as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(User)).preferences == {"theme": "dark"}
    response = post(client, "/theme", {"theme": "purple", "next": "/"})
    assert response.status_code == 302 and response.location == "/"
    with app.app_context():
        assert db.session.scalar(db.select(User)).preferences == {"theme": "dark"}
    post(client, "/theme", {"theme": "system", "next": "/"})
    with app.app_context():
        assert db.session.scalar(db.select(User)).preferences == {}


def test_navigation_has_a_personal_group_and_an_admin_menu_for_admins_only(client, app):
    register(client)  # the first account: an administrator
    page = client.get("/").get_data(as_text=True)
    assert 'class="menu admin-menu"' in page and "Service tokens" in page and "My tokens" in page
    make_user(app, "bob@example.com")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    post(client, "/auth/login", {"login": "bob@example.com", "password": "Passw0rd!"})
    page = client.get("/").get_data(as_text=True)
    assert "My tokens" in page and "admin-menu" not in page and "Service tokens" not in page


def test_audit_export_link_follows_the_filters_on_the_page(admin_client, app):
    first, raw = make_token(app)
    make_token(app)
    app.test_client().get("/v1/users/github/nobody/llm-config", headers=bearer(raw))
    fragment = admin_client.get(f"/admin/audit?token={first}", headers=HX).get_data(as_text=True)
    assert f'id="export-csv" href="/admin/audit/export.csv?token={first}"' in fragment


def test_destructive_admin_actions_ask_for_confirmation(admin_client, app):
    make_user(app, "bob@example.com")
    page = admin_client.get("/admin/users").get_data(as_text=True)
    for question in ("Deactivate bob?", "Make bob an administrator?"):
        assert f'hx-confirm="{question}' in page


def test_admin_home_charts_the_last_seven_days(admin_client, app):
    _, raw = make_token(app)
    make_user(app, "octo@example.com", github="octo")
    set_config(app, None, OPENAI)
    agent = app.test_client()
    for login in ("octo", "octo", "nobody"):
        agent.get(f"/v1/users/github/{login}/llm-config", headers=bearer(raw))
    page = admin_client.get("/").get_data(as_text=True)
    chart = re.search(r'data-chart="([^"]+)"', page).group(1).replace("&#34;", '"')
    import json

    data = json.loads(chart)
    assert len(data["days"]) == 7 and data["calls"][-1] == 3 and data["errors"][-1] == 1
    assert sum(data["calls"][:-1]) == 0 and data["users"][-1] == 2
    assert "cdn.jsdelivr.net" not in page and "/static/vendor/chart.umd.min.js" in page  # ASSET_MODE=local here


def test_members_home_has_no_instance_chart(client, app):
    register(client, "admin@example.com", "admin")
    client.post("/auth/logout", data={"csrf_token": csrf_token(client)})
    register(client, "bob@example.com", "bob")
    page = client.get("/").get_data(as_text=True)
    assert "activity-chart" not in page and "chart.umd.min.js" not in page
