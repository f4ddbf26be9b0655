"""JWTs for API clients, at the service: signing keys and rotation, expiry, the session version,
refresh rotation, and a reused refresh token revoking its family."""

import time

import pytest

from tests.api_helpers import make_user
from webapp.access_tokens import service as jwt_tokens
from webapp.access_tokens.models import RefreshToken
from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.audit.models import AuditEvent
from webapp.db.orm import db
from webapp.errors import AuthenticationFailed


def user(app, email="agent@example.com") -> User:
    return db.session.get(User, make_user(app, email))


def fresh_keys(app, keys):
    app.config["JWT_SIGNING_KEYS"] = keys
    app.extensions.pop("agentdesk.jwt_keys", None)


def test_an_access_token_names_its_user_and_nothing_else_passes(app):
    with app.app_context():
        agent = user(app)
        issued = jwt_tokens.issue(agent, ip="1.2.3.4")
        principal = jwt_tokens.authenticate(issued.access_token)
        assert (principal.kind, principal.user_id, principal.tenant_id) == ("user", agent.id, agent.tenant_id)
        assert principal.rate_key == f"user:{agent.id}" and "tasks:write" in principal.scopes
        assert issued.expires_in == 1800
        head, body, signature = issued.access_token.split(".")
        # The first character of the signature: every one of its bits counts (the last one's lowest
        # two are padding, so "…AA" for "…AB" was the same signature once in a thousand runs).
        tampered = ("B" if signature[0] == "A" else "A") + signature[1:]
        for forged in (f"{head}.{body}.{tampered}", issued.refresh_token, "", "not.a.jwt",
                       "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."):
            assert jwt_tokens.authenticate(forged) is None, forged


def test_keys_rotate_by_kid(app):
    with app.app_context():
        agent = user(app)
        old_key = app.config["JWT_SIGNING_KEYS"][0]
        token = jwt_tokens.issue(agent, ip="t").access_token
        fresh_keys(app, [("next", "n" * 40), old_key])  # a new signing key; the old one still verifies
        assert jwt_tokens.authenticate(token) is not None
        newer = jwt_tokens.issue(agent, ip="t").access_token
        fresh_keys(app, [("next", "n" * 40)])  # the old key retired: its tokens end
        assert jwt_tokens.authenticate(token) is None and jwt_tokens.authenticate(newer) is not None


def test_expired_tokens_and_signed_out_accounts_are_refused(app):
    with app.app_context():
        agent = user(app)
        app.config["JWT_ACCESS_SECONDS"] = 1
        issued = jwt_tokens.issue(agent, ip="t")
        time.sleep(1.1)
        assert jwt_tokens.authenticate(issued.access_token) is None
        app.config["JWT_ACCESS_SECONDS"] = 1800
        issued = jwt_tokens.issue(agent, ip="t")
        accounts.sign_out_everywhere(agent, ip="t")
        assert jwt_tokens.authenticate(issued.access_token) is None
        with pytest.raises(AuthenticationFailed):  # nor can a refresh token from before bring it back
            jwt_tokens.refresh(issued.refresh_token, ip="t")


def test_refresh_rotates_and_a_reused_token_revokes_the_family(app):
    with app.app_context():
        agent = user(app)
        first = jwt_tokens.issue(agent, ip="t")
        second = jwt_tokens.refresh(first.refresh_token, ip="t")
        assert second.refresh_token != first.refresh_token
        assert jwt_tokens.authenticate(second.access_token) is not None
        other_sign_in = jwt_tokens.issue(agent, ip="t")
        with pytest.raises(AuthenticationFailed):  # the spent one again: stolen, or replayed
            jwt_tokens.refresh(first.refresh_token, ip="t")
        with pytest.raises(AuthenticationFailed):  # ... so its whole family ends, the thief's and the owner's
            jwt_tokens.refresh(second.refresh_token, ip="t")
        assert jwt_tokens.refresh(other_sign_in.refresh_token, ip="t")  # another sign-in is untouched
        rows = db.session.scalars(db.select(RefreshToken).order_by(RefreshToken.id)).all()
        assert all(len(row.token_hash) == 64 and row.token_hash not in (first.refresh_token, second.refresh_token)
                   for row in rows)
        failure = db.session.scalar(db.select(AuditEvent).where(AuditEvent.action == "auth.token.refresh"))
        assert failure.outcome == "failure" and failure.details["reason"] == "reused"


def test_refresh_refuses_access_tokens_garbage_and_deactivated_accounts(app):
    with app.app_context():
        agent = user(app)
        issued = jwt_tokens.issue(agent, ip="t")
        for wrong in (issued.access_token, "", "x.y.z"):
            with pytest.raises(AuthenticationFailed):
                jwt_tokens.refresh(wrong, ip="t")
        agent.active = False
        db.session.commit()
        with pytest.raises(AuthenticationFailed):
            jwt_tokens.refresh(issued.refresh_token, ip="t")
        assert jwt_tokens.authenticate(issued.access_token) is None
