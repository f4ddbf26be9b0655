"""Create, list and revoke machine tokens; authenticate a raw token on the hot path."""

from __future__ import annotations

import hashlib
import secrets
import string
import zlib
from datetime import datetime, timedelta, timezone

from flask import g, has_app_context
from flask_babel import lazy_gettext as _l
from sqlalchemy import bindparam, func, or_, select, update

from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.crypto import box
from webapp.db.orm import db
from webapp.db.prepared import PreparedQuery, derived
from webapp.db.writer import replayable, writer
from webapp.errors import Conflict, Forbidden, NotFound, ValidationFailed
from webapp.principal import Principal
from webapp.tokens.models import KINDS, ApiToken

ALPHABET = string.ascii_letters + string.digits
KIND_CODES = {"service": "svc", "widget": "wgt", "usage": "usg", "personal": "pat"}
RANDOM_CHARS = 32  # 32 base62 characters: about 190 random bits
PREFIX_CHARS = 12  # "adk_svc_" + 4 random characters, shown in lists
SCOPES = {
    "llm-config:read": _l("Read LLM settings (spec 000)"),
    "tasks:read": _l("Read tasks (spec 002)"),
    "tasks:write": _l("Create tasks and report their progress (spec 002)"),
}
AGENT_SCOPES = ["llm-config:read", "tasks:read", "tasks:write"]
DEFAULT_SCOPES = {"service": AGENT_SCOPES, "personal": AGENT_SCOPES, "widget": [], "usage": []}
LAST_USED_WRITE_INTERVAL = timedelta(seconds=60)
MAX_PERSONAL_TOKENS = 20  # active ones per person


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(ALPHABET[rest])
    return "".join(reversed(chars))


def _checksum(body: str) -> str:
    return _base62(zlib.crc32(body.encode()), 6)


def generate_raw(kind: str) -> str:
    """`adk_svc_<32 random base62>_<6-char CRC32>`: recognisable, typo-checkable offline."""
    body = f"adk_{KIND_CODES[kind]}_" + "".join(secrets.choice(ALPHABET) for _ in range(RANDOM_CHARS))
    return f"{body}_{_checksum(body)}"


def well_formed(raw: str) -> bool:
    body, _, checksum = raw.rpartition("_")
    return raw.startswith("adk_") and len(raw) <= 64 and bool(body) and _checksum(body) == checksum


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


# --- Management (dashboard, CLI) ----------------------------------------------------------


def create_token(actor: User | None, *, kind: str, name: str, scopes: list[str] | None = None,
                 expires_in_days: int | None = None, owner: User | None = None, ip: str = "",
                 status: str = "active") -> tuple[ApiToken, str]:
    """Mint a token; return the row and the raw value, which is never stored or shown again."""
    if kind not in KINDS:
        raise ValidationFailed(_l("Unknown token kind."), field="kind")
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise ValidationFailed(_l("Give the token a name of 1 to 100 characters."), field="name")
    if kind != "personal" and actor is not None and not actor.is_admin:
        raise Forbidden(_l("Only administrators can do this."))
    scopes = list(DEFAULT_SCOPES[kind] if scopes is None else scopes)
    if unknown := [s for s in scopes if s not in SCOPES]:
        raise ValidationFailed(_l("Unknown scope: %(scopes)s", scopes=", ".join(unknown)), field="scopes")
    if expires_in_days is not None and not 1 <= expires_in_days <= 3650:
        raise ValidationFailed(_l("Expiry must be between 1 and 3650 days."), field="expires_in_days")
    if kind == "personal":
        owner = owner or actor
        if owner is None:
            raise ValidationFailed(_l("A personal token needs an owner (--user EMAIL)."), field="user")
        if _active_personal_tokens(owner) >= MAX_PERSONAL_TOKENS:
            raise Conflict(_l("You have %(count)s active personal tokens, the most allowed. Revoke one you no "
                              "longer use first.", count=MAX_PERSONAL_TOKENS), field="name")
    if kind == "widget":
        if owner is None:
            raise ValidationFailed(_l("A widget key answers for an organisation: name one of its people (--user EMAIL)."),
                                   field="user")
        return mint_widget_key(owner.tenant_id, actor, name=name, ip=ip)
    raw = generate_raw(kind)
    token = ApiToken(kind=kind, name=name, prefix=raw[:PREFIX_CHARS], token_hash=hash_token(raw), status=status,
                     scopes=scopes, user_id=owner.id if owner else None, created_by_id=actor.id if actor else None,
                     expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", ip=ip, actor=actor, actor_label=None if actor else "cli", target=token.label,
                 details={"kind": kind, "scopes": scopes})
    db.session.commit()
    return token, raw


def mint_widget_key(tenant_id, actor: User | None, *, name: str = "Website widget",
                    ip: str = "") -> tuple[ApiToken, str]:
    """A new live widget key for the tenant; its earlier one stops working in the same transaction.
    The caller has checked that `actor` may do this (tenants.service: the tenant's administrators)."""
    now = utcnow()
    db.session.execute(update(ApiToken).where(ApiToken.tenant_id == tenant_id, ApiToken.kind == "widget",
                                              ApiToken.status == "active").values(status="revoked", revoked_at=now))
    raw = generate_raw("widget")
    token = ApiToken(kind="widget", name=name, prefix=raw[:PREFIX_CHARS], token_hash=hash_token(raw), status="active",
                     scopes=[], tenant_id=tenant_id, secret=box().encrypt(raw),
                     created_by_id=actor.id if actor else None)
    db.session.add(token)
    db.session.flush()
    audit.record("token.create", ip=ip, actor=actor, actor_label=None if actor else "cli", target=token.label,
                 details={"kind": "widget", "tenant": str(tenant_id)})
    db.session.commit()
    return token, raw


def live_widget_key(tenant_id) -> tuple[ApiToken, str] | None:
    """The tenant's live widget key and its value (the embed snippet shows it), or None."""
    token = db.session.scalar(select(ApiToken).where(ApiToken.tenant_id == tenant_id, ApiToken.kind == "widget",
                                                     ApiToken.status == "active"))
    return (token, box().decrypt(token.secret)) if token is not None and token.secret else None


def _active_personal_tokens(owner: User) -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.user_id == owner.id, ApiToken.kind == "personal", ApiToken.status == "active",
        or_(ApiToken.expires_at.is_(None), ApiToken.expires_at > utcnow())))


def visible_tokens(actor: User, *, kind: str = "personal") -> list[ApiToken]:
    """A person's own personal tokens, or (admins only) the instance's service tokens."""
    query = select(ApiToken).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())
    if kind == "service" and actor.is_admin:
        query = query.where(ApiToken.kind == "service")
    else:
        query = query.where(ApiToken.user_id == actor.id, ApiToken.kind == "personal")
    return list(db.session.scalars(query))


def personal_tokens_of(actor: User, owner: User) -> list[ApiToken]:
    """Admin: every personal token of one person, newest first."""
    if not actor.is_admin:
        raise NotFound(_l("No such user."))
    return list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == owner.id, ApiToken.kind == "personal")
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def expiring_tokens(owner: User, *, within: timedelta = timedelta(days=14)) -> list[ApiToken]:
    """The owner's active personal tokens that expire within `within`, soonest first."""
    now = utcnow()
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == owner.id, ApiToken.kind == "personal", ApiToken.status == "active",
        ApiToken.expires_at > now, ApiToken.expires_at <= now + within).order_by(ApiToken.expires_at)))


def revoke_token(actor: User, token_id: int, *, ip: str, owner: User | None = None) -> ApiToken:
    """Revoke a token the actor may manage; with `owner`, only that person's personal token (an
    admin acting from the person's page)."""
    token = db.session.get(ApiToken, token_id)
    if token is None or not (actor.is_admin or (token.kind == "personal" and token.user_id == actor.id)):
        raise NotFound(_l("No such token."))  # the same answer whether it exists or is someone else's
    if owner is not None and (token.kind != "personal" or token.user_id != owner.id):
        raise NotFound(_l("No such token."))
    if token.status != "revoked":
        token.status, token.revoked_at = "revoked", utcnow()
        audit.record("token.revoke", ip=ip, actor=actor, target=token.label, details={"kind": token.kind})
        db.session.commit()
    return token


# --- Hot path -----------------------------------------------------------------------------


# Compiled once per dialect; each call only binds the hash (webapp/db/prepared.py).
_LOOKUP = PreparedQuery(select(ApiToken.id, ApiToken.kind, ApiToken.name, ApiToken.prefix, ApiToken.scopes,
                               ApiToken.user_id, ApiToken.status, ApiToken.expires_at, ApiToken.last_used_at,
                               ApiToken.tenant_id).where(ApiToken.token_hash == bindparam("token_hash")),
                        cacheable=True)
_TOUCH = replayable(update(ApiToken).where(ApiToken.id == bindparam("token_id"))
                    .values(last_used_at=bindparam("when")))


# (id, prefix) of a token -> when this process last queued its last use (rows kept by
# webapp/db/read_cache.py may show an older time)
_touched: dict[tuple, datetime] = {}


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def _lookup_params(raw: str | None) -> dict | None:
    """The lookup's parameters for `raw` (None: not a token), worked out once per request (the
    prefetch and authenticate() both ask)."""
    in_app = has_app_context()
    memo = g.get("_token_lookup") if in_app else None
    if memo is not None and memo[0] == raw:
        return memo[1]
    params = {"token_hash": hash_token(raw)} if raw and well_formed(raw) else None
    if in_app:
        g._token_lookup = (raw, params)
    return params


def lookup_query(raw: str | None) -> tuple[PreparedQuery, dict] | None:
    """The statement authenticate() will run for `raw` (None if it would not run one): the machine
    platform sends it together with the view's own lookup, in one round trip."""
    params = _lookup_params(raw)
    return (_LOOKUP, params) if params is not None else None


def authenticate(raw: str | None, kinds: frozenset[str]) -> Principal | None:
    """An active, unexpired token of one of `kinds` -> its Principal; anything else -> None (one
    answer for every failure).

    Runs on the raw connection (no ORM session): this is every machine request's first query.
    The last use is written off the request path, at most once a minute per token.
    """
    params = _lookup_params(raw)
    if params is None:
        return None
    row = next(_LOOKUP.rows(params), None)
    if row is None or row["status"] != "active" or row["kind"] not in kinds:
        return None
    now = datetime.now(timezone.utc)
    expires_at = _aware(row["expires_at"])
    if expires_at is not None and expires_at <= now:
        return None
    last_used_at = _aware(row["last_used_at"])
    touch_key = (row["id"], row["prefix"])
    touched = _touched.get(touch_key)  # this process's own writes: a kept row may predate them
    if touched is not None and (last_used_at is None or touched > last_used_at):
        last_used_at = touched
    if last_used_at is None or now - last_used_at >= LAST_USED_WRITE_INTERVAL:
        if len(_touched) >= 100_000:
            _touched.clear()
        _touched[touch_key] = now
        writer().keep_latest(_TOUCH, row["id"], {"token_id": row["id"], "when": now})
    return derived(row, "principal", _principal)


def _principal(row: dict) -> Principal:
    # A person's tokens share one set of windows: twenty tokens do not buy twenty times the limit.
    rate_key = f"user:{row['user_id']}" if row["kind"] == "personal" else str(row["id"])
    return Principal(kind=row["kind"], label=f"{row['name']} ({row['prefix']}…)", scopes=frozenset(row["scopes"] or ()),
                     user_id=row["user_id"], tenant_id=row["tenant_id"], token_id=row["id"], rate_key=rate_key)
