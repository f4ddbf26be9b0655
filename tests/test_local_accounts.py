"""Local accounts: registration rules, the first admin, sign-in, sessions, sign-out."""

import re

import pytest

from tests.conftest import PASSWORD, csrf_token, login, logout, post, register, users_by_email
from webapp.audit.models import AuditEvent
from webapp.db.orm import db


def field_errors(response) -> dict[str, str]:
    html = response.get_data(as_text=True)
    return {m[0]: re.sub(r"<[^>]+>", "", m[1]).strip()
            for m in re.findall(r'<ul class="errors" id="([a-z_]+)-error">(.*?)</ul>', html, re.S)}


def test_first_account_becomes_admin_and_lands_on_dashboard(client, app):
    response = register(client)
    assert response.status_code == 302 and response.location == "/"
    page = client.get("/", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert 'class="whoami">alice<' in page and "Administrator" in page
    user = users_by_email(app)["alice@example.com"]
    assert user.is_admin and user.role == "ADMIN"
    assert user.password_hash.startswith("$argon2id$")


def test_second_account_is_not_admin_and_gets_named_tenant(client, app):
    register(client)
    logout(client)
    assert register(client, "bob@example.com", "bob", tenant_name="Acme").status_code == 302
    users = users_by_email(app)
    bob = users["bob@example.com"]
    assert not bob.is_admin and bob.role == "ADMIN"  # of Acme, which he created; not of the instance
    with app.app_context():
        bob = db.session.merge(bob)
        assert bob.tenant.name == "Acme" and not bob.tenant.is_personal


@pytest.mark.parametrize(
    "data, field, message",
    [
        ({"email": "not-an-email"}, "email", "valid e-mail"),
        ({"username": "ab"}, "username", "3 to 100"),
        ({"username": "has space"}, "username", "3 to 100"),
        ({"username": "x" * 101}, "username", "3 to 100"),
        ({"password": "short1A", "confirm": "short1A"}, "password", "at least 8"),
        ({"password": "alllowercase1", "confirm": "alllowercase1"}, "password", "upper-case"),
        ({"password": "ALLUPPERCASE1", "confirm": "ALLUPPERCASE1"}, "password", "upper-case"),
        ({"password": "NoDigitsHere", "confirm": "NoDigitsHere"}, "password", "digit"),
        ({"confirm": "Different1"}, "confirm", "do not match"),
        ({"email": ""}, "email", "required"),
    ],
)
def test_invalid_registration_shows_message_next_to_field_and_writes_nothing(client, app, data, field, message):
    form = {"email": "carol@example.com", "username": "carol", "password": PASSWORD, "confirm": PASSWORD, **data}
    response = post(client, "/auth/register", form, headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert message in field_errors(response)[field]
    assert users_by_email(app) == {}


def test_duplicate_email_and_username_are_refused_at_the_field(client, app):
    register(client)
    logout(client)
    response = register(client, "ALICE@example.com", "other", headers={"Accept-Language": "en"})
    assert response.status_code == 422
    assert "already exists" in field_errors(response)["email"]
    response = register(client, "new@example.com", "Alice", headers={"Accept-Language": "en"})
    assert "taken" in field_errors(response)["username"]
    assert len(users_by_email(app)) == 1


def test_missing_csrf_token_is_refused_and_writes_nothing(client, app):
    response = client.post("/auth/register", data={"email": "a@example.com", "username": "alice",
                                                   "password": PASSWORD, "confirm": PASSWORD},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "Reload the page and try again" in response.get_data(as_text=True)
    assert users_by_email(app) == {}


def test_sign_in_by_email_or_username_and_sign_out(client, app):
    register(client)
    logout(client)
    assert client.get("/").status_code == 302
    assert login(client, "ALICE@example.com").location == "/"
    assert client.get("/").status_code == 200
    logout(client)
    assert login(client, "alice").location == "/"
    assert client.get("/").status_code == 200
    with app.app_context():
        actions = [(e.action, e.outcome) for e in db.session.scalars(db.select(AuditEvent).order_by(AuditEvent.id))]
    assert actions == [("auth.register", "success"), ("auth.logout", "success"), ("auth.login", "success"),
                       ("auth.logout", "success"), ("auth.login", "success")]


def test_wrong_password_is_refused_with_one_message_and_audited(client, app):
    register(client)
    logout(client)
    for name in ("alice", "nobody@example.com"):
        response = login(client, name, "Wrong-passw0rd", headers={"Accept-Language": "en"})
        assert response.status_code == 422
        assert "Wrong e-mail/username or password." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302
    with app.app_context():
        failures = db.session.scalars(db.select(AuditEvent).where(AuditEvent.outcome == "failure")).all()
    assert {f.actor_label for f in failures} == {"alice", "nobody@example.com"}
    assert all(f.details["reason"] == "bad_credentials" for f in failures)


def test_session_is_renewed_at_sign_in(client):
    """Nothing the anonymous session held survives sign-in: not its CSRF token, not a planted value."""
    from werkzeug.test import Client

    register(client)
    logout(client)
    before = csrf_token(client)
    with client.session_transaction() as session:
        session["planted"] = "by whoever fixed this session"
    stale = client.get_cookie("agentdesk_session").value
    login(client)
    with client.session_transaction() as session:
        assert "planted" not in session and "_user_id" in session
    assert csrf_token(client) != before
    stranger = Client(client.application)
    stranger.set_cookie("agentdesk_session", stale)
    assert stranger.get("/").status_code == 302


def test_next_redirects_only_to_local_paths(client):
    register(client)
    logout(client)
    assert login(client, next="/admin/users").location == "/admin/users"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"):
        logout(client)
        assert login(client, next=evil).location == "/", evil


def test_remember_me_sets_a_persistent_httponly_cookie(client):
    register(client)
    logout(client)
    login(client, remember="y")
    cookie = client.get_cookie("agentdesk_remember")
    assert cookie is not None and cookie.http_only and cookie.expires is not None
    # Without the session cookie, the remember cookie alone signs the user back in.
    client.delete_cookie("agentdesk_session")
    assert client.get("/").status_code == 200


def test_deactivated_user_is_signed_out_on_next_request(client, app):
    register(client, "admin@example.com", "admin")
    logout(client)
    register(client, "bob@example.com", "bob")
    login(client, "bob", remember="y")
    assert client.get("/").status_code == 200
    from webapp.accounts.models import User

    with app.app_context():
        bob = db.session.scalar(db.select(User).where(User.email == "bob@example.com"))
        bob.active = False
        db.session.commit()
    response = client.get("/")
    assert response.status_code == 302 and response.location.startswith("/auth/login")
    response = login(client, "bob", headers={"Accept-Language": "en"})
    assert response.status_code == 422 and "deactivated" in response.get_data(as_text=True)


def test_login_is_rate_limited_with_a_friendly_page(client):
    token = csrf_token(client)
    for _ in range(10):
        response = client.post("/auth/login", data={"login": "x", "password": "y", "csrf_token": token})
        assert response.status_code == 422
    response = client.post("/auth/login", data={"login": "x", "password": "y", "csrf_token": token},
                           headers={"Accept-Language": "en"})
    assert response.status_code == 429
    page = response.get_data(as_text=True)
    assert "Too many attempts" in page and "Wait a minute" in page
    assert int(response.headers["Retry-After"]) > 0
    # Reading the page is not limited.
    assert client.get("/auth/login").status_code == 200


def test_registration_is_rate_limited_too(client, app):
    token = csrf_token(client)
    for n in range(10):
        client.post("/auth/register", data={"email": "bad", "csrf_token": token})
    response = client.post("/auth/register", data={"email": "ok@example.com", "username": "okay", "password": PASSWORD,
                                                   "confirm": PASSWORD, "csrf_token": token})
    assert response.status_code == 429 and "Too many attempts" in response.get_data(as_text=True)
    assert users_by_email(app) == {}


def test_empty_sign_in_form_marks_both_fields(client):
    response = post(client, "/auth/login", {"login": "", "password": ""})
    assert response.status_code == 422
    assert field_errors(response) == {"login": "This field is required.", "password": "This field is required."}


def test_registration_can_be_closed(app_env, migrated):
    from webapp import create_app

    app_env["REGISTRATION_OPEN"] = "false"
    app = create_app(env=app_env)
    client = app.test_client()
    response = client.get("/auth/register")
    assert response.status_code == 302 and response.location == "/auth/login"
    assert "Create an account" not in client.get("/auth/login", headers={"Accept-Language": "en"}).get_data(as_text=True)
