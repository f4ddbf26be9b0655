"""Tokens: shown once, stored hashed, listed by prefix, revoked at once; the CLI and key rotation."""

import hashlib
import re

from cryptography.fernet import Fernet

from tests.api_helpers import OPENAI, OPENAI_KEY, bearer, make_token, make_user, set_config
from tests.conftest import logout, post, register
from webapp import create_app
from webapp.accounts.models import User
from webapp.db.crypto import box
from webapp.db.orm import db
from webapp.llm_configs.models import LLMConfig
from webapp.tenants.models import ProviderKey
from webapp.tokens import service
from webapp.tokens.models import ApiToken

HX = {"HX-Request": "true"}


def test_raw_tokens_are_recognisable_random_and_checksummed():
    raw = service.generate_raw("service")
    assert re.fullmatch(r"adk_svc_[A-Za-z0-9]{32}_[A-Za-z0-9]{6}", raw)
    assert service.well_formed(raw)
    assert not service.well_formed(raw[:-1] + ("x" if raw[-1] != "x" else "y"))
    assert len({service.generate_raw("personal") for _ in range(200)}) == 200


def test_personal_token_is_shown_once_and_stored_as_sha256(client, app):
    register(client)
    response = post(client, "/settings/tokens", {"name": "laptop", "expires_in_days": "30"}, headers=HX)
    assert response.status_code == 201
    raw = re.search(r'<code id="new-token" class="token-value">([^<]+)</code>', response.get_data(as_text=True)).group(1)
    with app.app_context():
        token = db.session.scalar(db.select(ApiToken))
        assert token.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        assert token.prefix == raw[:12] and token.kind == "personal" and token.expires_at is not None
    listing = client.get("/settings/tokens").get_data(as_text=True)
    assert raw not in listing and f"{raw[:12]}…" in listing


def test_revoked_token_gets_401_with_the_same_body(client, app):
    register(client)
    from webapp.accounts.logins import reserve_login
    from webapp.accounts.models import User

    with app.app_context():
        reserve_login(db.session.scalar(db.select(User)), "github", "alice-gh")
        db.session.commit()
    set_config(app, users_id(app), OPENAI)
    html = post(client, "/settings/tokens", {"name": "agent"}, headers=HX).get_data(as_text=True)
    raw = re.search(r'id="new-token" class="token-value">([^<]+)<', html).group(1)
    api = app.test_client()
    assert api.get("/v1/users/github/alice-gh/llm-config", headers=bearer(raw)).status_code == 200
    token_id = int(re.search(r'id="token-(\d+)"', html).group(1))
    assert post(client, f"/settings/tokens/{token_id}/revoke", headers=HX).status_code == 200
    unknown = api.get("/v1/users/github/alice-gh/llm-config", headers=bearer("adk_svc_nope")).json
    assert api.get("/v1/users/github/alice-gh/llm-config", headers=bearer(raw)).json == unknown
    assert "Revoked" in client.get("/settings/tokens").get_data(as_text=True)


def users_id(app):
    from webapp.accounts.models import User

    with app.app_context():
        return db.session.scalar(db.select(User.id))


def test_people_cannot_see_or_revoke_each_others_tokens(client, app):
    register(client, "admin@example.com", "admin")
    logout(client)
    register(client, "bob@example.com", "bob")
    post(client, "/settings/tokens", {"name": "bobs"})
    logout(client)
    register(client, "carol@example.com", "carol")
    assert "bobs" not in client.get("/settings/tokens").get_data(as_text=True)
    with app.app_context():
        bobs = db.session.scalar(db.select(ApiToken.id))
    assert post(client, f"/settings/tokens/{bobs}/revoke", headers=HX).status_code == 404
    assert client.get("/admin/tokens").status_code == 403
    with app.app_context():
        assert db.session.get(ApiToken, bobs).status == "active"


def test_admin_creates_service_tokens_and_the_service_page_lists_only_those(admin_client, app):
    response = post(admin_client, "/admin/tokens", {"name": "build-bot"}, headers=HX)
    assert response.status_code == 201 and "adk_svc_" in response.get_data(as_text=True)
    post(admin_client, "/settings/tokens", {"name": "my-laptop"})
    listing = admin_client.get("/admin/tokens").get_data(as_text=True)
    assert "build-bot" in listing and "my-laptop" not in listing
    mine = admin_client.get("/settings/tokens").get_data(as_text=True)
    assert "my-laptop" in mine and "build-bot" not in mine


def test_token_form_errors_inline_and_nothing_written(admin_client, app):
    response = post(admin_client, "/admin/tokens", {"name": ""}, headers=HX)
    assert response.status_code == 422 and 'id="name-error"' in response.get_data(as_text=True)
    response = post(admin_client, "/admin/tokens", {"name": "x", "expires_in_days": "7"}, headers=HX)
    assert response.status_code == 422 and 'id="expires_in_days-error"' in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count()).select_from(ApiToken)) == 0


def test_cli_prints_the_raw_token_as_the_last_line(app):
    make_user(app, "admin@example.com", admin=True)
    set_config(app, make_user(app, "octo@example.com", github="octo"), OPENAI)
    result = app.test_cli_runner().invoke(args=["tokens", "create", "--kind", "service", "--name", "agent"])
    assert result.exit_code == 0
    raw = result.stdout.strip().splitlines()[-1]
    assert raw.startswith("adk_svc_")
    assert app.test_client().get("/v1/users/github/octo/llm-config", headers=bearer(raw)).status_code == 200
    failed = app.test_cli_runner().invoke(args=["tokens", "create", "--kind", "personal", "--name", "p"])
    assert failed.exit_code != 0 and "needs an owner" in failed.output


def test_keys_rotate_reencrypts_under_the_newest_key(app_env, app):
    make_user(app, "admin@example.com", admin=True)
    user_id = make_user(app, "octo@example.com", github="octo")
    set_config(app, user_id, OPENAI, api_key=OPENAI_KEY)
    with app.app_context():
        before = db.session.scalar(db.select(LLMConfig.openai_api_key))
        tenant_id = db.session.scalar(db.select(User.tenant_id).where(User.id == user_id))
        db.session.add(ProviderKey(tenant_id=tenant_id, provider="openai", model="gpt-4o",
                                   secret=box().encrypt("sk-tenant-key-0001"), hint="sk-****...0001"))
        db.session.commit()
    new_key = Fernet.generate_key().decode()
    rotated_env = {**app_env, "ENCRYPTION_KEYS": f"{new_key},{app_env['ENCRYPTION_KEYS']}"}
    rotated = create_app(env=rotated_env)
    result = rotated.test_cli_runner().invoke(args=["keys", "rotate"])
    assert result.exit_code == 0 and "Re-encrypted 2 secret" in result.output
    with rotated.app_context():
        after = db.session.scalar(db.select(LLMConfig.openai_api_key))
        tenant_key = db.session.scalar(db.select(ProviderKey.secret))
    assert after != before and Fernet(new_key.encode()).decrypt(after.encode()).decode() == OPENAI_KEY
    assert Fernet(new_key.encode()).decrypt(tenant_key.encode()).decode() == "sk-tenant-key-0001"
    # The old key alone can no longer read it; the new key alone can.
    _, raw = make_token(rotated)
    only_new = create_app(env={**app_env, "ENCRYPTION_KEYS": new_key})
    data = only_new.test_client().get("/v1/users/github/octo/llm-config", headers=bearer(raw)).json["data"]
    assert data["llm_config"]["openai"]["api_key"] == OPENAI_KEY


DEFAULT_KEY = "sk-default-myverysecret-0123456789abcdef"


def test_no_plaintext_key_in_the_database_file_audit_pages_logs_or_errors(client, app, app_env, migrated, llm_server):
    import logging

    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = lambda record: records.append(record.getMessage() + str(record.exc_info or ""))
    loggers = [logging.getLogger(), logging.getLogger("agentdesk.access"), logging.getLogger("agentdesk.api_errors")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        _walk_through_everything_that_touches_the_key(client, app, migrated, llm_server)
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
    assert records and not any(OPENAI_KEY in line or DEFAULT_KEY in line for line in records)


def _walk_through_everything_that_touches_the_key(client, app, migrated, llm_server):
    register(client)
    from webapp.accounts.logins import reserve_login
    from webapp.accounts.models import User

    with app.app_context():
        reserve_login(db.session.scalar(db.select(User)), "github", "alice-gh")
        db.session.commit()
    post(client, "/settings/llm", {"provider": "openai", "openai_api_key": OPENAI_KEY}, headers=HX)
    saved = post(client, "/admin/llm-default", {"provider": "openai", "openai_api_key": DEFAULT_KEY}, headers=HX)
    assert saved.status_code == 200
    bad = post(client, "/settings/llm", {"provider": "openai", "openai_api_key": OPENAI_KEY,
                                         "openai_max_token": "oops"}, headers=HX)
    assert bad.status_code == 422
    pages = [bad.get_data(as_text=True)] + [client.get(p).get_data(as_text=True) for p in
                                            ("/settings/llm", "/admin/audit", "/admin/users", "/settings/tokens")]
    _, raw = make_token(app)
    api = app.test_client()
    pages.append(api.get("/v1/users/github/alice-gh/llm-config?mask_api_key=true", headers=bearer(raw)).get_data(as_text=True))
    pages.append(api.get("/v1/users/github/alice-gh/llm-config?mask_api_key=wrong", headers=bearer(raw)).get_data(as_text=True))
    pages.append(api.get("/v1/users/github/nobody/llm-config", headers=bearer(raw)).get_data(as_text=True))
    pages.append(post(client, "/settings/llm/test", {"provider": "openai", "openai_base_url": f"{llm_server.url}/v1"},
                      headers=HX).get_data(as_text=True))
    pages.append(api.get("/config/github/someone-new", headers=bearer(raw)).get_data(as_text=True))
    assert DEFAULT_KEY in pages[-1]  # served to the agent (service token), as it should be ...
    pages.pop()
    for page in pages:  # ... and nowhere else
        assert OPENAI_KEY not in page and DEFAULT_KEY not in page
    with app.app_context():
        from webapp.audit.models import AuditEvent

        audit_text = " ".join(str((e.details, e.target, e.actor_label)) for e in db.session.scalars(db.select(AuditEvent)))
    assert OPENAI_KEY not in audit_text and DEFAULT_KEY not in audit_text
    if migrated.startswith("sqlite:///"):
        with app.app_context():
            db.session.execute(db.text("PRAGMA wal_checkpoint(TRUNCATE)"))
        database_bytes = open(migrated.removeprefix("sqlite:///"), "rb").read()
        assert OPENAI_KEY.encode() not in database_bytes and DEFAULT_KEY.encode() not in database_bytes
        assert database_bytes.count(b"gAAAAA") >= 2  # both keys are there, encrypted
    else:
        with app.app_context():
            dump = " ".join(str(r) for r in db.session.execute(db.text("SELECT * FROM llm_configs")))
        assert OPENAI_KEY not in dump and DEFAULT_KEY not in dump and dump.count("gAAAAA") == 2
