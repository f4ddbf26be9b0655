"""JWT sign-in over HTTP: spec 001 §3.1 (register, login, me), spec 002's login, refresh, limits."""

from tests.api_helpers import bearer, make_token, make_user
from tests.conftest import PASSWORD, register
from webapp.accounts.models import Tenant, User
from webapp.db.orm import db

SPEC_001_USER = {"email": "user@example.com", "username": "username", "password": "Password123",
                 "tenant_name": "Company Name", "tenant_domain": "company.example.com"}


def test_spec_001_register_login_and_me(client, app):
    register(client, "admin@example.com", "admin")  # an instance with its administrator
    created = client.post("/api/v1/auth/register", json=SPEC_001_USER)
    assert created.status_code == 201, created.json
    assert set(created.json) == {"id", "email", "username", "tenant_id", "role"}
    # Whoever registers an organisation administers it (the instance's admin is someone else).
    assert (created.json["email"], created.json["username"], created.json["role"]) == (
        "user@example.com", "username", "ADMIN")
    with app.app_context():
        assert db.session.scalar(db.select(Tenant.domain).where(Tenant.name == "Company Name")) == "company.example.com"
    tokens = client.post("/api/v1/auth/login", json={"email": "user@example.com", "password": "Password123"})
    assert tokens.status_code == 200
    body = tokens.json
    assert body["token_type"] == "bearer" and body["expires_in"] == 1800 and body["access_token"].startswith("eyJ")
    assert (body["token"], body["refreshToken"], body["expiresIn"]) == (
        body["access_token"], body["refresh_token"], body["expires_in"])
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json == {**created.json, "is_active": True, "is_verified": False}


def test_spec_002_login_with_username_and_its_error_shape(client, app):
    make_user(app, "agent@example.com")
    with app.app_context():
        db.session.scalar(db.select(User)).username = "agent"
        db.session.commit()
    ok = client.post("/api/v1/auth/login", json={"username": "agent", "password": PASSWORD})
    assert ok.status_code == 200 and ok.json["token"] and ok.json["refreshToken"]
    wrong = client.post("/api/v1/auth/login", json={"username": "agent", "password": "nope"})
    assert wrong.status_code == 401
    assert wrong.json["success"] is False and wrong.json["error"]["code"] == "INVALID_CREDENTIALS"
    spec_001 = client.post("/api/v1/auth/login", json={"email": "agent@example.com", "password": "nope"})
    assert spec_001.status_code == 401 and spec_001.json["error_code"] == "INVALID_CREDENTIALS"
    assert set(spec_001.json) == {"detail", "error_code", "timestamp"}


def test_bad_bodies_are_answered_in_the_specs_shape(client):
    for body in (None, "not json", {"password": "x"}, {"email": 5, "password": "x"}, {"email": "a@b.c"}):
        response = client.post("/api/v1/auth/login", json=body) if not isinstance(body, str) else client.post(
            "/api/v1/auth/login", data=body, content_type="application/json")
        assert response.status_code in (400, 422), body
        assert response.json["error_code"] in ("VALIDATION_ERROR", "BAD_REQUEST"), response.json
    weak = client.post("/api/v1/auth/register", json={**SPEC_001_USER, "password": "short"})
    assert weak.status_code == 422 and weak.json["error_code"] == "VALIDATION_ERROR"


def test_refresh_rotates_and_reuse_ends_the_sign_in(client, app):
    make_user(app, "agent@example.com")
    first = client.post("/api/v1/auth/login", json={"email": "agent@example.com", "password": PASSWORD}).json
    second = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200 and second.json["refresh_token"] != first["refresh_token"]
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json["error_code"] == "AUTHENTICATION_ERROR"
    after = client.post("/api/v1/auth/refresh", json={"refreshToken": second.json["refresh_token"]})
    assert after.status_code == 401 and after.json["success"] is False  # spec 002's spelling, its shape


def test_me_takes_a_jwt_or_a_token_and_refuses_anything_else(client, app):
    owner = make_user(app, "owner@example.com")
    _, personal = make_token(app, kind="personal", owner_id=owner)
    assert client.get("/api/v1/auth/me", headers=bearer(personal)).json["email"] == "owner@example.com"
    _, service = make_token(app)
    assert client.get("/api/v1/auth/me", headers=bearer(service)).status_code == 404
    for raw in ("eyJhbGciOiJIUzI1NiJ9.e30.x", "garbage"):
        assert client.get("/api/v1/auth/me", headers=bearer(raw)).status_code == 401
    assert client.get("/api/v1/auth/me").status_code == 401


def test_sign_in_is_limited_per_address(client, app):
    make_user(app, "agent@example.com")
    answers = [client.post("/api/v1/auth/login", json={"email": "agent@example.com", "password": "wrong"})
               for _ in range(11)]
    assert [a.status_code for a in answers] == [401] * 10 + [429]
    assert answers[-1].json["error_code"] == "RATE_LIMIT_EXCEEDED" and int(answers[-1].headers["Retry-After"]) > 0
    other = client.post("/api/v1/auth/login", json={"email": "agent@example.com", "password": PASSWORD},
                        environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200  # another address is not blocked by this one


def test_registration_closed_is_closed_here_too(app_env, live_server_factory):
    client = live_server_factory(REGISTRATION_OPEN="false").app.test_client()
    response = client.post("/api/v1/auth/register", json=SPEC_001_USER)
    assert response.status_code == 403 and response.json["error_code"] == "PERMISSION_DENIED"


def test_long_passwords_the_web_accepts_work_here_too(client, app):
    long_password = "Aa1" + "x" * 300
    created = client.post("/api/v1/auth/register", json={**SPEC_001_USER, "tenant_domain": None,
                                                         "password": long_password})
    assert created.status_code == 201
    login = client.post("/api/v1/auth/login", json={"email": SPEC_001_USER["email"], "password": long_password})
    assert login.status_code == 200


def test_a_taken_domain_is_a_conflict_and_no_account_is_made(client, app):
    assert client.post("/api/v1/auth/register", json=SPEC_001_USER).status_code == 201
    second = client.post("/api/v1/auth/register", json={**SPEC_001_USER, "email": "other@example.com",
                                                        "username": "other"})
    assert second.status_code == 409 and second.json["error_code"] == "CONFLICT"
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 1
