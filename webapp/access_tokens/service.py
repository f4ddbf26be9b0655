"""JWTs for API clients: a 30-minute access token and a 7-day refresh token per sign-in.

Both are HS256 JWTs signed with JWT_SIGNING_KEYS (kept apart from SECRET_KEY; `kid` names the
key, so keys rotate without signing anyone out). An access token carries the account's session
version: signing out everywhere, a password change or deactivation ends it, as it ends browser
sessions. Refresh tokens are stored as SHA-256 hashes and rotate: each use marks the token used
(compare-and-set, so two concurrent uses cannot both succeed) and hands out the next one of the
same family; presenting a used or revoked one again revokes the whole family.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_babel import lazy_gettext as _l
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey
from sqlalchemy import select, update

from webapp.access_tokens.models import RefreshToken
from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import AuthenticationFailed
from webapp.principal import Principal

ALGORITHM = "HS256"
# What a person's own sign-in may do through the machine APIs (tasks, chat, their settings).
USER_SCOPES = frozenset({"llm-config:read", "tasks:read", "tasks:write"})
INVALID_REFRESH = _l("The refresh token is invalid or expired. Sign in again.")


@dataclass(frozen=True)
class Issued:
    access_token: str
    refresh_token: str
    expires_in: int  # seconds the access token lives


def _keys() -> tuple[OctKey, KeySet]:
    """The signing key and every verifying key, built once per app."""
    cached = current_app.extensions.get("agentdesk.jwt_keys")
    if cached is None:
        keys = [OctKey.import_key(secret.encode(), {"kid": kid}) for kid, secret in current_app.config["JWT_SIGNING_KEYS"]]
        cached = current_app.extensions["agentdesk.jwt_keys"] = (keys[0], KeySet(keys))
    return cached


def _sign(claims: dict) -> str:
    key, _ = _keys()
    return jwt.encode({"alg": ALGORITHM, "kid": key.kid}, claims, key)


def _claims(raw: str, expected_type: str) -> dict | None:
    """The claims of a well-signed, unexpired token of this type; None for anything else."""
    _, key_set = _keys()
    try:
        token = jwt.decode(raw, key_set, algorithms=[ALGORITHM])
    except (JoseError, ValueError, TypeError):
        return None
    claims = token.claims
    exp = claims.get("exp")
    if claims.get("typ") != expected_type or not isinstance(exp, int) or exp <= datetime.now(timezone.utc).timestamp():
        return None
    return claims


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _access(user: User, seconds: int) -> str:
    now = int(utcnow().timestamp())
    return _sign({"sub": str(user.id), "iat": now, "jti": secrets.token_urlsafe(16), "typ": "access",
                  "sv": user.session_version, "tid": str(user.tenant_id), "exp": now + seconds})


def _pair(user: User, family: str, access_seconds: int | None = None) -> Issued:
    """A new access token and the next refresh token of `family` (added to the session)."""
    config, now = current_app.config, utcnow()
    access_seconds = access_seconds or config["JWT_ACCESS_SECONDS"]
    refresh_seconds = config["JWT_REFRESH_SECONDS"]
    base = {"sub": str(user.id), "iat": int(now.timestamp()), "jti": secrets.token_urlsafe(16)}
    access = _access(user, access_seconds)
    refresh = _sign({**base, "jti": secrets.token_urlsafe(16), "typ": "refresh", "fam": family,
                     "sv": user.session_version, "exp": int(now.timestamp()) + refresh_seconds})
    db.session.add(RefreshToken(user_id=user.id, family=family, token_hash=_hash(refresh), created_at=now,
                                expires_at=now + timedelta(seconds=refresh_seconds)))
    return Issued(access, refresh, access_seconds)


def issue(user: User, *, ip: str, access_seconds: int | None = None) -> Issued:
    """A fresh sign-in of an API client (the password was checked by the caller); the access token
    lives JWT_ACCESS_SECONDS, or `access_seconds` (spec 004's hour)."""
    issued = _pair(user, str(uuid.uuid4()), access_seconds)
    audit.record("auth.token.issue", ip=ip, actor=user, target=user.email or user.label, details={"method": "jwt"})
    db.session.commit()
    return issued


def refresh(raw: str, *, ip: str) -> Issued:
    """The next pair for a valid refresh token; reuse of a spent one revokes its whole family."""
    claims = _claims(raw or "", "refresh")
    if claims is None:
        raise AuthenticationFailed(INVALID_REFRESH)
    now = utcnow()
    spent = db.session.execute(
        update(RefreshToken).where(RefreshToken.token_hash == _hash(raw), RefreshToken.used_at.is_(None),
                                   RefreshToken.revoked_at.is_(None), RefreshToken.expires_at > now)
        .values(used_at=now)).rowcount
    user_id = _uuid(claims.get("sub"))
    user = db.session.get(User, user_id) if user_id else None
    if spent != 1 or user is None or not user.active or claims.get("sv") != user.session_version:
        family = claims.get("fam", "")
        revoked = db.session.execute(update(RefreshToken).where(RefreshToken.family == family,
                                                                RefreshToken.revoked_at.is_(None))
                                     .values(revoked_at=now)).rowcount
        audit.record("auth.token.refresh", ip=ip, actor=user, outcome="failure",
                     target=(user.email or user.label) if user else "",
                     details={"reason": "reused" if spent != 1 else "signed_out", "revoked": revoked})
        db.session.commit()
        raise AuthenticationFailed(INVALID_REFRESH)
    issued = _pair(user, claims["fam"])
    db.session.commit()
    return issued


def renew(raw: str, *, access_seconds: int) -> tuple[str, int]:
    """A new access token for a valid refresh token, which stays valid (spec 004's refresh answers
    no new refresh token, so its clients keep theirs for its 7 days): (token, seconds it lives).
    A spent, revoked or expired one, or one from before a sign-out, is refused."""
    claims = _claims(raw or "", "refresh")
    if claims is None:
        raise AuthenticationFailed(INVALID_REFRESH)
    live = db.session.scalar(select(RefreshToken.id).where(
        RefreshToken.token_hash == _hash(raw), RefreshToken.used_at.is_(None), RefreshToken.revoked_at.is_(None),
        RefreshToken.expires_at > utcnow()))
    user_id = _uuid(claims.get("sub"))
    user = db.session.get(User, user_id) if user_id else None
    if live is None or user is None or not user.active or claims.get("sv") != user.session_version:
        raise AuthenticationFailed(INVALID_REFRESH)
    return _access(user, access_seconds), access_seconds


def standing(raw: str) -> tuple[int, int] | None:
    """A valid access token's session version and expiry (Unix time): what a long-lived connection
    that signed in with it checks again later (sign-out everywhere, expiry)."""
    claims = _claims(raw, "access")
    return (claims.get("sv"), claims["exp"]) if claims is not None else None


def expired(raw: str) -> bool:
    """Whether `raw` is one of ours, well signed, whose time is up (spec 004 tells that apart: AUTH002)."""
    _, key_set = _keys()
    try:
        claims = jwt.decode(raw, key_set, algorithms=[ALGORITHM]).claims
    except (JoseError, ValueError, TypeError):
        return False
    exp = claims.get("exp")
    return claims.get("typ") == "access" and isinstance(exp, int) and exp <= datetime.now(timezone.utc).timestamp()


def _uuid(value) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None


def authenticate(raw: str) -> Principal | None:
    """A valid access token of an active account whose sessions it still belongs to -> Principal."""
    claims = _claims(raw, "access")
    if claims is None:
        return None
    user_id = _uuid(claims.get("sub"))
    user = db.session.scalar(select(User).where(User.id == user_id)) if user_id else None
    if user is None or not user.active or claims.get("sv") != user.session_version:
        return None
    return Principal(kind="user", label=f"{user.email or user.label} (JWT)", scopes=USER_SCOPES, user_id=user.id,
                     tenant_id=user.tenant_id, rate_key=f"user:{user.id}")
