"""The first outside attack review, one test per finding: each reproduces the attack as reported
and failed before its fix."""

from __future__ import annotations

import time

import pytest

from tests.api_helpers import OPENAI, bearer, make_token, make_user, set_config
from tests.conftest import PASSWORD, login, logout, oauth_sign_in, post, register
from tests.fake_idp import ProviderUser
from webapp import create_app
from webapp.accounts.models import Identity, User
from webapp.db.orm import db

DEFAULT_KEY = "sk-default-0123456789abcdefghijklmnop"
USER_KEY = "sk-user-0123456789abcdefghijklmnopqrs"
HX = {"HX-Request": "true"}


def signed_in(client) -> bool:
    return client.get("/").status_code == 200


# --- Sign-out and sessions ------------------------------------------------------------------

def test_sign_out_also_forgets_the_remember_me_cookie(client):
    register(client)
    logout(client)
    login(client, remember="y")
    assert client.get_cookie("agentdesk_remember") is not None
    logout(client)
    assert client.get_cookie("agentdesk_remember") is None
    assert not signed_in(client)


def _copy_cookies(source, target) -> None:
    for name in ("agentdesk_session", "agentdesk_remember"):
        cookie = source.get_cookie(name)
        if cookie is not None:
            target.set_cookie(name, cookie.value)


def test_sign_out_everywhere_ends_a_copied_session_and_remember_cookie(app, client):
    register(client)
    logout(client)
    login(client, remember="y")
    thief, remembered_only = app.test_client(), app.test_client()
    _copy_cookies(client, thief)
    remembered_only.set_cookie("agentdesk_remember", client.get_cookie("agentdesk_remember").value)
    assert signed_in(thief) and signed_in(remembered_only)
    assert post(client, "/auth/sessions/revoke").location == "/auth/login"
    assert not signed_in(client) and not signed_in(thief) and not signed_in(remembered_only)
    login(client)
    assert signed_in(client)  # a new sign-in works again


def test_a_password_change_ends_every_other_session_but_this_one(app, client):
    register(client)
    other = app.test_client()
    _copy_cookies(client, other)
    new = "N3w-passw0rd"
    changed = post(client, "/auth/password", {"current_password": PASSWORD, "new_password": new, "confirm": new})
    assert changed.status_code == 302 and signed_in(client) and not signed_in(other)
    logout(client)
    assert login(client, password=PASSWORD).status_code == 422
    assert login(client, password=new).status_code == 302


def test_a_wrong_current_password_changes_nothing(client):
    register(client)
    refused = post(client, "/auth/password", {"current_password": "wrong", "new_password": "N3w-passw0rd",
                                              "confirm": "N3w-passw0rd"})
    assert refused.status_code == 422 and "current password is not right" in refused.get_data(as_text=True)
    assert signed_in(client)


def test_deactivation_ends_remember_me_sessions(app, client, admin_client):
    other = app.test_client()
    post(other, "/auth/register", {"email": "bob@example.com", "username": "bob", "password": PASSWORD,
                                   "confirm": PASSWORD})
    logout(other)
    login(other, "bob", remember="y")
    remembered = app.test_client()
    remembered.set_cookie("agentdesk_remember", other.get_cookie("agentdesk_remember").value)
    with app.app_context():
        bob = db.session.scalar(db.select(User).where(User.username == "bob"))
        bob_id, version = bob.id, bob.session_version
    post(client, f"/admin/users/{bob_id}/active/0", headers=HX)
    post(client, f"/admin/users/{bob_id}/active/1", headers=HX)  # reactivated: old cookies stay dead
    assert not signed_in(remembered)
    with app.app_context():
        assert db.session.get(User, bob_id).session_version == version + 1


# --- Closed registration closes every door ----------------------------------------------------

@pytest.fixture
def closed(app_env, idp):
    app = create_app(env={**app_env, "REGISTRATION_OPEN": "false", "ADMIN_USERS": "github:boss"})
    make_user(app, "admin@example.com", admin=True)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return app, client


def test_closed_registration_refuses_an_unknown_github_user(closed, idp):
    app, client = closed
    idp.sign_in("github", ProviderUser(4242, "stranger"))
    assert oauth_sign_in(client, "github").location == "/auth/login"
    assert "Registration is closed" in client.get("/auth/login").get_data(as_text=True)
    assert not signed_in(client)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1


def test_closed_registration_still_lets_reserved_logins_and_admin_users_in(closed, idp):
    app, client = closed
    with app.app_context():
        from webapp.accounts import identities

        admin = db.session.scalar(db.select(User))
        identities.preprovision(admin, "github", "invited", ip="x")
    idp.sign_in("github", ProviderUser(5001, "invited"))
    assert oauth_sign_in(client, "github").location == "/" and signed_in(client)
    logout(client)
    idp.sign_in("github", ProviderUser(5002, "boss"))
    assert oauth_sign_in(client, "github").location == "/" and signed_in(client)


# --- Keys: the default's reaches personal tokens only by choice; a key never follows a URL ------

@pytest.fixture
def people(app):
    make_user(app, "admin@example.com", admin=True)
    octo = make_user(app, "octo@example.com", github="octo")
    set_config(app, None, {**OPENAI, "openai_base_url": "https://llm.example.com/v1"}, api_key=DEFAULT_KEY)
    set_config(app, octo, {"provider": "openai"})
    return octo


def _key(client, token) -> str:
    response = client.get("/v1/users/github/octo/llm-config", headers=bearer(token))
    assert response.status_code == 200
    return response.json["data"]["llm_config"]["openai"]["api_key"]


def test_the_default_key_reaches_a_personal_token_only_when_the_admin_shares_it(app, client, people):
    _, personal = make_token(app, kind="personal", owner_id=people)
    _, service = make_token(app)
    assert _key(client, service) == DEFAULT_KEY
    assert _key(client, personal) == ""
    with app.app_context():
        from webapp.llm_configs import service as llm

        admin = db.session.scalar(db.select(User).where(User.is_admin.is_(True)))
        llm.save(admin, llm.Scope(None), {**OPENAI, "openai_base_url": "https://llm.example.com/v1"}, share_key=True,
                 ip="x")
    assert _key(client, personal) == DEFAULT_KEY


def test_a_saved_key_does_not_follow_the_admins_base_url(app, client, people):
    """The user saved a key while inheriting the default base URL; the admin then points the
    default elsewhere: the key is withheld, and the settings page asks for it again."""
    set_config(app, people, {"provider": "openai"}, api_key=USER_KEY)
    _, service = make_token(app)
    assert _key(client, service) == USER_KEY
    set_config(app, None, {**OPENAI, "openai_base_url": "https://attacker.example/v1"}, api_key=DEFAULT_KEY)
    assert _key(client, service) == ""
    octo = app.test_client()
    octo.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    post(octo, "/auth/login", {"login": "octo@example.com", "password": PASSWORD})
    assert "for another address than the one in effect now" in octo.get("/settings/llm").get_data(as_text=True)
    set_config(app, people, {"provider": "openai"}, api_key=USER_KEY)  # entered again, for the new address
    assert _key(client, service) == USER_KEY


def test_a_login_with_a_trailing_newline_is_an_invalid_username(app, client):
    make_user(app, "admin@example.com", admin=True)
    make_user(app, "bob@example.com", github="bobgh")
    _, token = make_token(app)
    response = client.get("/v1/users/github/bobgh%0A/llm-config", headers=bearer(token))
    assert response.status_code == 400 and response.json["error"]["code"] == "INVALID_USERNAME"


# --- Production settings refuse what is unsafe -------------------------------------------------

PRODUCTION = {"APP_ENV": "production", "ENCRYPTION_KEYS": "k", "METRICS_TOKEN": "m" * 32,
              "JWT_SIGNING_KEYS": "k1:" + "j" * 40}


@pytest.mark.parametrize("weak", ["x" * 32, "ab" * 20, "0123456789" * 4])
def test_a_repeated_or_patterned_secret_key_is_refused_in_production(tmp_path, weak):
    from webapp.config import ConfigError, load

    with pytest.raises(ConfigError, match="secrets.token_urlsafe"):
        load(tmp_path, env={**PRODUCTION, "SECRET_KEY": weak})


def test_a_generated_secret_key_is_accepted(tmp_path):
    import secrets

    from webapp.config import load

    assert load(tmp_path, env={**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(48)})["SECRET_KEY"]


def test_metrics_are_not_served_open_in_production(tmp_path, app_env):
    import secrets

    from webapp.config import ConfigError, load

    env = {**PRODUCTION, "SECRET_KEY": secrets.token_urlsafe(48)}
    del env["METRICS_TOKEN"]
    with pytest.raises(ConfigError, match="METRICS_TOKEN"):
        load(tmp_path, env=env)
    assert load(tmp_path, env={**env, "METRICS_PUBLIC": "true"})["METRICS_PUBLIC"]
    guarded = create_app(env={**app_env, "METRICS_TOKEN": "scraper-secret"}).test_client()
    assert guarded.get("/metrics").status_code == 401
    assert guarded.get("/metrics", headers=bearer("wrong")).status_code == 401
    assert guarded.get("/metrics", headers=bearer("scraper-secret")).status_code == 200


def test_the_sqlite_database_and_its_wal_are_private_to_their_owner(tmp_path, idp):
    import os

    from flask_migrate import upgrade

    from tests.conftest import make_env

    app = create_app(env=make_env(f"sqlite:///{tmp_path}/fresh.db", idp.url))
    with app.app_context():
        upgrade()
        db.session.execute(db.text("SELECT 1"))
        modes = {name: os.stat(tmp_path / name).st_mode & 0o777 for name in os.listdir(tmp_path)
                 if name.startswith("fresh.db")}
        db.engine.dispose()
    assert set(modes) >= {"fresh.db", "fresh.db-wal"} and set(modes.values()) == {0o600}, modes


# --- Personal tokens ----------------------------------------------------------------------------

def test_at_most_twenty_active_personal_tokens(client):
    register(client)
    for n in range(20):
        assert post(client, "/settings/tokens", {"name": f"t{n}"}, headers=HX).status_code == 201
    refused = post(client, "/settings/tokens", {"name": "one too many"}, headers=HX)
    assert refused.status_code == 422 and "20 active personal tokens" in refused.get_data(as_text=True)


def test_a_persons_tokens_share_one_rate_limit(app_env):
    app = create_app(env={**app_env, "API_RATE_LIMITS": "3/minute;100/hour"})
    make_user(app, "admin@example.com", admin=True)
    octo = make_user(app, "octo@example.com", github="octo")
    set_config(app, octo, OPENAI)
    tokens = [make_token(app, kind="personal", owner_id=octo)[1] for _ in range(2)]
    client = app.test_client()
    statuses = [client.get("/v1/users/github/octo/llm-config", headers=bearer(tokens[n % 2])).status_code
                for n in range(4)]
    assert statuses == [200, 200, 200, 429]


# --- The audit log: no formulas in the export, no flood from refused guesses --------------------

def test_the_csv_export_defuses_spreadsheet_formulas(app, admin_client):
    """A failed sign-in's login name and an API path are chosen by anyone, signed in or not."""
    stranger = app.test_client()
    post(stranger, "/auth/login", {"login": "=HYPERLINK(\"http://evil.example\",\"x\")", "password": "x"})
    make_user(app, "other@example.com")
    _, token = make_token(app)
    stranger.get("/v1/users/github/+cmd|calc/llm-config", headers=bearer(token))
    csv_text = admin_client.get("/admin/audit/export.csv").get_data(as_text=True)
    import csv
    import io

    cells = [cell for row in csv.reader(io.StringIO(csv_text)) for cell in row]
    assert "'=HYPERLINK(\"http://evil.example\",\"x\")" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)


def test_refused_anonymous_calls_are_one_row_per_address_and_minute(app, client):
    from webapp.audit.models import AuditEvent

    make_user(app, "admin@example.com", admin=True)
    _, token = make_token(app)
    while time.time() % 60 > 45:  # the 200 calls (a second or two) stay inside one clock minute
        time.sleep(0.5)
    for _ in range(200):
        client.get("/v1/users/github/octo/llm-config", headers=bearer("adk_svc_guessing"))
    client.get("/v1/users/github/octo/llm-config", headers=bearer(token))  # an authenticated call: its own row
    client.get("/v1/users/github/octo/llm-config", headers=bearer(token))
    with app.app_context():
        app.extensions["db_writer"].flush(final=True)  # what the writer does when the minute is over
        rows = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action.like("api.%"))).all()
    refused = [r for r in rows if r.action == "api.refused"]
    assert len(rows) == 3 and len(refused) == 1
    assert refused[0].details["refused"] == 200 and refused[0].ip_address == "127.0.0.1"
    assert refused[0].details["by_status"] == {"401": 20, "429": 180}  # API_INVALID_TOKEN_LIMIT: 20/minute


# --- Admin pages and crafted query strings ------------------------------------------------------

@pytest.mark.parametrize("query, status", [
    ("/admin/audit?endpoint=x", 200), ("/admin/audit?_method=POST", 200), ("/admin/audit?_external=1", 200),
    ("/admin/audit?page=99999999999999999999999", 400), ("/admin/audit?token=9999999999999999999999", 400),
    ("/admin/audit?page=-5", 400), ("/admin/audit/export.csv?token=99999999999999999999999", 400),
    ("/admin/users?page=99999999999999999999999", 400), ("/admin/users?endpoint=x&page=2", 200),
    ("/admin/users?page=٣", 400),
])
def test_crafted_query_strings_get_a_page_or_a_400_never_a_500(admin_client, query, status):
    for headers in ({}, HX):
        assert admin_client.get(query, headers=headers).status_code == status, (query, headers)


def test_pagination_links_carry_only_the_filters(app, admin_client):
    for n in range(45):
        make_user(app, f"u{n}@example.com")
    html = admin_client.get("/admin/users?q=example&_external=1&endpoint=x&_anchor=y").get_data(as_text=True)
    assert 'href="/admin/users?q=example&amp;page=2"' in html


def test_an_oversized_chunked_body_is_413_and_a_small_one_still_works(app, live_server_factory):
    import requests

    server = live_server_factory()
    make_user(server.app, "admin@example.com", admin=True)
    _, token = make_token(server.app)
    headers = {**bearer(token), "Content-Type": "application/json"}

    def chunks(entries: int):  # no Content-Length: Transfer-Encoding: chunked
        yield b'{"users": ['
        for _ in range(entries):
            yield b'{"platform": "github", "username": "someone-with-a-long-login"},'
        yield b'{"platform": "github", "username": "octo"}]}'

    url = f"{server.url}/v1/users/llm-configs/batch"
    big = requests.post(url, data=chunks(30_000), headers=headers, timeout=30)
    assert big.status_code == 413 and big.json()["error"]["code"] == "PAYLOAD_TOO_LARGE"
    small = requests.post(url, data=chunks(3), headers=headers, timeout=10)
    assert small.status_code == 200 and small.json()["data"]["not_found"] == ["github:someone-with-a-long-login",
                                                                             "github:octo"]


# --- A busy database: nothing lost, and a 503 instead of a 500 ----------------------------------

@pytest.fixture
def locked_sqlite(tmp_path, idp):
    """An app on its own SQLite file, and a function that holds that file's write lock."""
    import sqlite3
    from contextlib import contextmanager

    from flask_migrate import upgrade

    from tests.conftest import make_env

    path = tmp_path / "busy.db"
    app = create_app(env=make_env(f"sqlite:///{path}", idp.url, SQLITE_BUSY_TIMEOUT="0.2",
                                  DB_WRITER_SPILL_PATH=str(tmp_path / "spill.jsonl")))
    with app.app_context():
        upgrade()

    @contextmanager
    def write_lock():
        other = sqlite3.connect(path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process writing for a long time
        try:
            yield
        finally:
            other.execute("ROLLBACK")
            other.close()

    yield app, write_lock
    with app.app_context():
        db.engine.dispose()


def test_audit_rows_written_while_the_database_is_locked_arrive_later(locked_sqlite):
    from prometheus_client import REGISTRY

    from webapp.audit.models import AuditEvent

    app, write_lock = locked_sqlite
    make_user(app, "admin@example.com", admin=True)
    make_user(app, "octo@example.com", github="octo")
    _, token = make_token(app)
    client = app.test_client()
    delayed_before = REGISTRY.get_sample_value("agentdesk_db_writer_rows_delayed_total",
                                               {"table": "audit_events"}) or 0
    with write_lock():
        statuses = {client.get("/v1/users/github/octo/llm-config", headers=bearer(token)).status_code
                    for _ in range(20)}
        assert statuses == {404}  # reads go on (no settings saved: CONFIG_NOT_FOUND)
        assert app.extensions["db_writer"].pending() >= 20
    assert REGISTRY.get_sample_value("agentdesk_db_writer_rows_delayed_total",
                                     {"table": "audit_events"}) - delayed_before == 20
    client.get("/v1/users/github/octo/llm-config", headers=bearer(token))  # the database is back
    with app.app_context():
        rows = db.session.scalar(db.select(db.func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "api.get_llm_config"))
    assert rows == 21 and app.extensions["db_writer"].pending() == 0


def test_a_sign_in_while_the_database_is_locked_gets_a_503_page_not_a_500(locked_sqlite):
    app, write_lock = locked_sqlite
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    register(client)
    logout(client)
    with write_lock():
        response = login(client)
    assert response.status_code == 503 and int(response.headers["Retry-After"]) > 0
    assert "Temporarily unavailable" in response.get_data(as_text=True)
    assert login(client).status_code == 302  # and afterwards, as usual


# --- Logins can be renamed, and then taken by someone else ---------------------------------------

def test_an_admin_users_login_binds_to_the_first_account_and_not_to_whoever_takes_the_name(app_env, idp):
    app = create_app(env={**app_env, "ADMIN_USERS": "github:alice"})
    make_user(app, "first@example.com", admin=True)
    client = app.test_client()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    logout(client)
    idp.sign_in("github", ProviderUser(1001, "alice-renamed"))  # alice renames herself on GitHub ...
    oauth_sign_in(client, "github")
    logout(client)
    idp.sign_in("github", ProviderUser(6666, "alice"))  # ... and someone else registers "alice"
    oauth_sign_in(client, "github")
    with app.app_context():
        admins = {i.provider_user_id: i.user.is_admin for i in
                  db.session.scalars(db.select(Identity).where(Identity.platform == "github"))}
    assert admins == {"1001": True, "6666": False}
    logout(client)
    post(client, "/auth/login", {"login": "first@example.com", "password": PASSWORD})
    page = client.get("/admin/users").get_data(as_text=True)
    assert "ADMIN_USERS names github:alice, but that account is now github:alice-renamed" in page
    assert "renamed from alice" in page


def test_with_registration_closed_a_taken_admin_name_is_a_stranger(app_env, idp):
    app = create_app(env={**app_env, "ADMIN_USERS": "github:alice", "REGISTRATION_OPEN": "false"})
    make_user(app, "first@example.com", admin=True)
    client = app.test_client()
    idp.sign_in("github", ProviderUser(1001, "alice"))
    oauth_sign_in(client, "github")
    logout(client)
    idp.sign_in("github", ProviderUser(1001, "alice-renamed"))
    oauth_sign_in(client, "github")
    logout(client)
    idp.sign_in("github", ProviderUser(6666, "alice"))
    assert oauth_sign_in(client, "github").location == "/auth/login" and not signed_in(client)
