"""The services on their own, without HTTP (STYLE.md #11): the rules every surface relies on."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.api_helpers import OPENAI, OPENAI_KEY, make_token, make_user, set_config
from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.audit.models import AuditEvent
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import AuthenticationFailed, Conflict, Forbidden, NotFound, ValidationFailed
from webapp.llm_configs import agents
from webapp.llm_configs import service as llm
from webapp.principal import Principal
from webapp.tokens import service as tokens
from webapp.tokens.models import ApiToken


@pytest.fixture
def ctx(app):
    with app.app_context():
        yield app


def _audit_actions() -> list[str]:
    return list(db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_a_detached_audit_event_never_commits_the_callers_pending_changes(ctx):
    db.session.add(User(tenant=accounts.new_user(display_name="x").tenant, display_name="pending"))
    audit.record_detached("auth.login", ip="10.0.0.1", actor_label="someone", outcome="failure")
    db.session.rollback()
    assert db.session.scalar(db.select(db.func.count()).select_from(User)) == 0
    assert _audit_actions() == ["auth.login"]


def test_a_recorded_event_is_written_with_the_change_or_not_at_all(ctx):
    audit.record("admin.user.create", ip="cli", actor_label="cli")
    db.session.rollback()
    assert _audit_actions() == []


def test_registration_rules_name_the_field_at_fault(ctx):
    accounts.register_local(email="a@example.com", username="alice", password="Passw0rd!", tenant_name=None, ip="x")
    cases = [({"email": "not-an-address"}, ValidationFailed, "email"),
             ({"username": "al"}, ValidationFailed, "username"),
             ({"username": "alice\n"}, ValidationFailed, "username"),
             ({"password": "short"}, ValidationFailed, "password"),
             ({"email": "A@Example.com", "username": "other"}, Conflict, "email"),
             ({"email": "b@example.com", "username": "ALICE"}, Conflict, "username")]
    for change, error, field in cases:
        data = {"email": "b@example.com", "username": "bob", "password": "Passw0rd!", **change}
        with pytest.raises(error) as raised:
            accounts.register_local(**data, tenant_name=None, ip="x")
        assert raised.value.field == field, change


def test_a_failed_sign_in_is_audited_and_says_nothing_about_which_half_was_wrong(ctx):
    accounts.register_local(email="a@example.com", username="alice", password="Passw0rd!", tenant_name=None, ip="x")
    messages = set()
    for login in ("alice", "nobody"):
        with pytest.raises(AuthenticationFailed) as raised:
            accounts.authenticate(login=login, password="wrong", ip="10.0.0.9")
        messages.add(str(raised.value.message))
    assert len(messages) == 1
    assert accounts.authenticate(login="A@EXAMPLE.COM", password="Passw0rd!", ip="x").username == "alice"
    assert _audit_actions() == ["auth.register", "auth.login", "auth.login", "auth.login"]


def test_the_last_active_admin_cannot_be_demoted_or_deactivated(ctx):
    admin = accounts.create_account(email="admin@example.com", password="Passw0rd!", username=None, admin=True,
                                    logins={})
    with pytest.raises(Conflict):
        accounts.set_admin(admin, admin.id, False, ip="x")
    with pytest.raises(Conflict):
        accounts.set_active(admin, admin.id, False, ip="x")
    other = accounts.create_account(email="b@example.com", password="Passw0rd!", username=None, admin=False,
                                    logins={"github": "bob-gh"})
    with pytest.raises(Forbidden):
        accounts.set_active(other, admin.id, False, ip="x")
    accounts.set_admin(admin, other.id, True, ip="x")
    assert not accounts.set_admin(admin, admin.id, False, ip="x").is_admin


def test_tokens_authenticate_only_their_kind_while_active_and_unexpired(ctx, app):
    service_id, service = make_token(app)
    _, widget = make_token(app, kind="widget")
    principal = tokens.authenticate(service, frozenset({"service"}))
    assert (principal.kind, principal.token_id, principal.rate_key) == ("service", service_id, str(service_id))
    assert "llm-config:read" in principal.scopes and principal.label.startswith("service-token (adk_svc_")
    assert tokens.authenticate(widget, frozenset({"service"})) is None
    assert tokens.authenticate(service[:-1] + ("x" if service[-1] != "x" else "y"), frozenset({"service"})) is None
    token = db.session.get(ApiToken, service_id)
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert tokens.authenticate(service, frozenset({"service"})) is None
    token.expires_at, token.status = None, "revoked"
    db.session.commit()
    assert tokens.authenticate(service, frozenset({"service"})) is None


def test_only_admins_mint_service_tokens_and_people_revoke_only_their_own(ctx):
    admin = accounts.create_account(email="admin@example.com", password="Passw0rd!", username=None, admin=True,
                                    logins={})
    bob = accounts.create_account(email="b@example.com", password="Passw0rd!", username=None, admin=False, logins={})
    with pytest.raises(Forbidden):
        tokens.create_token(bob, kind="service", name="mine")
    personal, _ = tokens.create_token(bob, kind="personal", name="laptop")
    admins, _ = tokens.create_token(admin, kind="personal", name="admin's")
    with pytest.raises(NotFound):
        tokens.revoke_token(bob, admins.id, ip="x")
    assert tokens.revoke_token(bob, personal.id, ip="x").status == "revoked"


def test_settings_report_every_bad_field_at_once_and_write_nothing(ctx, app):
    user = db.session.get(User, make_user(app, "octo@example.com", github="octo"))
    with pytest.raises(ValidationFailed) as raised:
        llm.save(user, llm.Scope(user), {"provider": "gpt", "openai_max_token": "lots",
                                         "openai_base_url": "ftp://x"}, ip="x")
    assert set(raised.value.details["fields"]) == {"provider", "openai_max_token", "openai_base_url"}
    assert llm.load(llm.Scope(user)) is None


def test_a_saved_key_is_asked_for_again_when_its_host_changes(ctx, app):
    user = db.session.get(User, make_user(app, "octo@example.com", github="octo"))
    llm.save(user, llm.Scope(user), OPENAI, new_api_key=OPENAI_KEY, ip="x")
    with pytest.raises(ValidationFailed) as raised:
        llm.save(user, llm.Scope(user), {**OPENAI, "openai_base_url": "https://elsewhere.example/v1"}, ip="x")
    assert raised.value.field == "openai_api_key"


def _principal(kind: str, user_id=None) -> Principal:
    return Principal(kind=kind, label=kind, scopes=frozenset({"llm-config:read"}), user_id=user_id)


def test_agents_read_rules(ctx, app):
    make_user(app, "admin@example.com", admin=True)
    octo = make_user(app, "octo@example.com", github="octo")
    set_config(app, octo, OPENAI, api_key=OPENAI_KEY)
    fresh = make_user(app, "fresh@example.com", github="fresh")
    service = _principal("service")
    assert agents.read_one(service, "github", "OCTO").values["openai_api_key"]
    with pytest.raises(NotFound) as unknown:
        agents.read_one(service, "github", "nobody")
    assert unknown.value.code == "USER_NOT_FOUND"
    with pytest.raises(NotFound) as unconfigured:
        agents.read_one(service, "github", "fresh")
    assert unconfigured.value.code == "CONFIG_NOT_FOUND"
    with pytest.raises(NotFound) as hidden:
        agents.read_one(_principal("personal", fresh), "github", "octo")
    assert hidden.value.code == "USER_NOT_FOUND"
    assert agents.read_one(_principal("personal", octo), "github", "octo").login == "octo"
    batch = agents.read_many(service, [("github", "octo"), ("github", "Octo"), ("github", "fresh"), ("gitlab", "x")])
    assert ([f.login for f in batch.found], batch.not_found, batch.distinct) == (
        ["octo"], ["github:fresh", "gitlab:x"], 3)


def test_the_legacy_reader_serves_defaults_but_not_to_a_deactivated_user(ctx, app):
    make_user(app, "admin@example.com", admin=True)
    octo = make_user(app, "octo@example.com", github="octo")
    set_config(app, octo, OPENAI, api_key=OPENAI_KEY)
    service = _principal("service")
    assert agents.read_legacy(service, "github", "octo").defaults_served is None
    unknown = agents.read_legacy(service, "github", "nobody")
    assert unknown.defaults_served == "unknown_user" and unknown.found.values["provider"] == "openai"
    db.session.get(User, octo).active = False
    db.session.commit()
    with pytest.raises(Forbidden):
        agents.read_legacy(service, "github", "octo")
