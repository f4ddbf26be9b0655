"""The life of a usage key: request -> approve (or reject) -> reveal once -> revoke.

A request is a `pending` usage token that holds no key. Approval makes it `active` and mails the
requester a signed, expiring link; opening that link (a POST, so mail scanners that prefetch
links cannot use it) mints the key, stores only its hash and shows it once. The key is therefore
never stored and never mailed. Every admin is mailed about each new request.
"""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import BadRequest, Conflict, DomainError, NotFound, ValidationFailed
from webapp.mail import service as mail
from webapp.tokens.models import ApiToken
from webapp.tokens.service import PREFIX_CHARS, generate_raw, hash_token
from webapp.usage.models import UsageDay

TABS = ("pending", "active", "rejected", "revoked")
MAX_NAME = 100
MAX_REASON = 1000
MAX_QUOTA = 1_000_000
LINK_SALT = "usage-key-link"
ADMIN_MAILS_PER_HOUR = 30  # requests an hour that each mail the admins


class LinkInvalid(DomainError):
    """The one-time link is forged, expired, already used, or its key was revoked."""

    status = 410
    code = "LINK_INVALID"


# --- Asking -----------------------------------------------------------------------------------


def _clean_name(raw) -> str:
    name = unicodedata.normalize("NFC", raw).strip() if isinstance(raw, str) else ""
    if not name or len(name) > MAX_NAME or any(unicodedata.category(c)[0] == "C" for c in name):
        raise BadRequest(_l("username: give your name, 1 to 100 characters, without control characters."),
                         code="INVALID_REQUEST", field="username")
    return name


def clean_email(raw) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise BadRequest(_l("email: give the e-mail address the key should be sent to."), code="INVALID_REQUEST",
                         field="email")
    try:
        # No SMTPUTF8: a non-ASCII local part would be mangled on the way out and the link misdelivered.
        checked = validate_email(raw.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise BadRequest(_l("email: this is not a valid e-mail address (%(reason)s).", reason=str(error)),
                         code="INVALID_REQUEST", field="email") from None
    return checked.normalized.lower()


def _live_key(email: str) -> ApiToken | None:
    now = utcnow()
    return db.session.scalar(select(ApiToken).where(
        ApiToken.kind == "usage", ApiToken.contact_email == email, ApiToken.status == "active",
        (ApiToken.expires_at.is_(None)) | (ApiToken.expires_at > now)).limit(1))


def request_key(username, email, *, locale: str, ip: str, user: User | None = None) -> str:
    """spec 003's POST /usagekey: "PENDING" (asked now, or already waiting) or "CREATED" (a key exists)."""
    name, email = _clean_name(username), clean_email(email)
    if _live_key(email) is not None:
        return "CREATED"
    pending = ApiToken(kind="usage", name=name, status="pending", scopes=[], contact_email=email, contact_name=name,
                       locale=locale, user_id=user.id if user else None)
    db.session.add(pending)
    try:
        db.session.flush()
    except IntegrityError:  # already waiting (the partial unique index), perhaps asked a moment ago
        db.session.rollback()
        return "PENDING"
    audit.record("usage_key.request", ip=ip, actor=user, actor_label=None if user else email,
                 target=f"usage key request #{pending.id}", details={"email": email})
    admins = _admins() if _admin_mail_allowed() else []
    messages = [mail.compose("usage_key.requested", admin.email, "usage_key_requested", locale=_locale_of(admin),
                             subject=_l("Usage key requested by %(name)s", name=name), name=name, email=email,
                             link=mail.public_url("usage_keys.admin_index", tab="pending", _anchor=f"key-{pending.id}"))
                for admin in admins]
    db.session.commit()
    if not messages:
        current_app.logger.warning("usage key request #%s: no administrator was mailed (none with an address, or "
                                   "over %s requests this hour); the home page counts it", pending.id,
                                   ADMIN_MAILS_PER_HOUR)
    mail.dispatch(messages)
    return "PENDING"


def _admin_mail_allowed() -> bool:
    """A flood of requests (many addresses from many places) mails the admins about the first ones
    of each hour; the rest wait on the page, counted on the home page."""
    recent = db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.kind == "usage", ApiToken.created_at > utcnow() - timedelta(hours=1)))
    return recent <= ADMIN_MAILS_PER_HOUR


def _admins() -> list[User]:
    return list(db.session.scalars(select(User).where(User.is_admin.is_(True), User.active.is_(True),
                                                      User.email.is_not(None))))


def _locale_of(user: User) -> str:
    return user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]


def requests_of(user: User) -> list[ApiToken]:
    """A person's own requests and keys: those they made signed in. Not those for their e-mail
    address: account addresses are not verified, so matching on them would show anyone who signs
    up with an address the requests (and rejection reasons) of whoever owns it."""
    return list(db.session.scalars(select(ApiToken).where(ApiToken.kind == "usage", ApiToken.user_id == user.id)
                                   .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()).limit(20)))


# --- Deciding (admins) ------------------------------------------------------------------------


@dataclass(frozen=True)
class Listing:
    tab: str
    keys: list[ApiToken]
    counts: dict[str, int]
    now: datetime


def counts() -> dict[str, int]:
    rows = db.session.execute(select(ApiToken.status, func.count()).where(ApiToken.kind == "usage")
                              .group_by(ApiToken.status))
    found = dict(rows.all())
    return {tab: found.get(tab, 0) for tab in TABS}


def pending_count() -> int:
    return db.session.scalar(select(func.count()).select_from(ApiToken).where(
        ApiToken.kind == "usage", ApiToken.status == "pending"))


def listing(actor: User, tab: str) -> Listing:
    _require_admin(actor)
    tab = tab if tab in TABS else "pending"
    order = ApiToken.created_at.asc() if tab == "pending" else ApiToken.decided_at.desc()
    keys = list(db.session.scalars(select(ApiToken).where(ApiToken.kind == "usage", ApiToken.status == tab)
                                   .order_by(order, ApiToken.id.desc()).limit(500)))
    return Listing(tab, keys, counts(), utcnow())


def _require_admin(actor: User | None) -> None:
    if actor is not None and not actor.is_admin:
        raise NotFound(_l("No such usage key."))


def _usage_key(actor: User | None, key_id: int, *statuses: str) -> ApiToken:
    _require_admin(actor)
    key = db.session.get(ApiToken, key_id)
    if key is None or key.kind != "usage":
        raise NotFound(_l("No such usage key."))
    if statuses and key.status not in statuses:
        raise Conflict(_l("Someone changed this key meanwhile; reload the page to see its state."))
    return key


def _claim(key: ApiToken, expected: str, *extra, **values) -> None:
    """Compare-and-set: change the key only if it is still `expected` (and `extra` holds), so two
    admins deciding at once (or a decision racing a reveal) cannot both win; the loser gets a 409."""
    changed = db.session.execute(
        update(ApiToken).where(ApiToken.id == key.id, ApiToken.status == expected, *extra).values(**values)
        .execution_options(synchronize_session=False)).rowcount
    if not changed:
        db.session.rollback()
        raise Conflict(_l("Someone changed this key meanwhile; reload the page to see its state."))
    db.session.refresh(key)


def _decision(actor: User | None, status: str) -> dict:
    return {"status": status, "decided_at": utcnow(), "decided_by_id": actor.id if actor else None}


def approve(actor: User | None, key_id: int, *, quota: int | None, expires_on: date | None, ip: str) -> ApiToken:
    """Approve a request: the requester is mailed a one-time link that mints the key."""
    key = _usage_key(actor, key_id, "pending")
    nonce = secrets.token_urlsafe(24)
    _claim(key, "pending", **_terms(quota, expires_on), **_decision(actor, "active"), reveal_digest=_digest(nonce))
    message = _link_mail(key, nonce)
    audit.record("usage_key.approve", ip=ip, actor=actor, actor_label=None if actor else "cli",
                 target=_target(key), details={"daily_quota": key.daily_quota})
    db.session.commit()
    mail.dispatch([message])
    return key


def approve_from_shell(email: str, *, quota: int | None) -> tuple[ApiToken, str]:
    """`flask usage-keys approve EMAIL`: approve the pending request and mint its key now, for the
    operator to hand over (no link is mailed: the key exists already)."""
    email = clean_email(email)
    key = db.session.scalar(select(ApiToken).where(ApiToken.kind == "usage", ApiToken.status == "pending",
                                                   ApiToken.contact_email == email))
    if key is None:
        raise NotFound(_l("No pending usage-key request for %(email)s.", email=email))
    raw = generate_raw("usage")
    _claim(key, "pending", **_terms(quota, None), **_decision(None, "active"), token_hash=hash_token(raw),
           prefix=raw[:PREFIX_CHARS], revealed_at=utcnow())
    audit.record("usage_key.approve", ip="", actor_label="cli", target=_target(key),
                 details={"daily_quota": key.daily_quota})
    db.session.commit()
    return key, raw


def _terms(quota: int | None, expires_on: date | None) -> dict:
    quota = current_app.config["USAGE_KEY_DEFAULT_QUOTA"] if quota is None else quota
    if not 1 <= quota <= MAX_QUOTA:
        raise ValidationFailed(_l("The daily quota is a number of reviews from 1 to %(max)s.", max=MAX_QUOTA),
                               field="quota")
    if expires_on is not None and expires_on <= utcnow().date():
        raise ValidationFailed(_l("The expiry date must be in the future."), field="expires_on")
    expires_at = datetime(expires_on.year, expires_on.month, expires_on.day, tzinfo=timezone.utc) \
        if expires_on else None
    return {"daily_quota": quota, "expires_at": expires_at}


def reject(actor: User, key_id: int, *, reason: str, ip: str) -> ApiToken:
    reason = (reason or "").strip()
    if not reason or len(reason) > MAX_REASON:
        raise ValidationFailed(_l("Give the requester a reason, up to %(max)s characters.", max=MAX_REASON),
                               field="reason")
    key = _usage_key(actor, key_id, "pending")
    _claim(key, "pending", **_decision(actor, "rejected"), decision_note=reason)
    message = mail.compose("usage_key.rejected", key.contact_email, "usage_key_rejected", locale=key.locale or "",
                           subject=_l("Your usage key request was declined"), name=key.contact_name,
                           reason=reason)
    audit.record("usage_key.reject", ip=ip, actor=actor, target=_target(key))
    db.session.commit()
    mail.dispatch([message])
    return key


def revoke(actor: User, key_id: int, *, ip: str) -> ApiToken:
    key = _usage_key(actor, key_id, "active")
    _claim(key, "active", status="revoked", revoked_at=utcnow(), reveal_digest=None)
    audit.record("usage_key.revoke", ip=ip, actor=actor, target=_target(key))
    db.session.commit()
    return key


def send_new_link(actor: User, key_id: int, *, ip: str) -> ApiToken:
    """The first link expired or was lost before the key was shown: a new one (the old one stops working)."""
    key = _usage_key(actor, key_id, "active")
    if key.token_hash is not None:
        raise Conflict(_l("This key has been shown already. Revoke it and approve a new request instead."))
    nonce = secrets.token_urlsafe(24)
    # Only while the key is still unshown: a reveal committing meanwhile makes this a 409, not a second key.
    _claim(key, "active", ApiToken.token_hash.is_(None), reveal_digest=_digest(nonce))
    message = _link_mail(key, nonce)
    audit.record("usage_key.link", ip=ip, actor=actor, target=_target(key))
    db.session.commit()
    mail.dispatch([message])
    return key


def _target(key: ApiToken) -> str:
    return f"usage key #{key.id} ({key.contact_email})"


# --- The one-time link ------------------------------------------------------------------------


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=LINK_SALT)


def _digest(nonce: str) -> str:
    return hashlib.sha256(nonce.encode()).hexdigest()


def _link_mail(key: ApiToken, nonce: str):
    link = mail.public_url("usage_keys.reveal", signed=_serializer().dumps([key.id, nonce]))
    hours = current_app.config["USAGE_KEY_LINK_HOURS"]
    return mail.compose("usage_key.approved", key.contact_email, "usage_key_approved", locale=key.locale or "",
                        subject=_l("Your code review key is ready"), sensitive=True, name=key.contact_name,
                        link=link, hours=hours, quota=key.daily_quota, expires_at=key.expires_at)


def open_link(signed: str) -> ApiToken:
    """The key a link would reveal, checked (signature, age, not used, still active); nothing changes."""
    key, _ = _check_link(signed)
    return key


def _check_link(signed: str) -> tuple[ApiToken, str]:
    try:
        key_id, nonce = _serializer().loads(signed, max_age=current_app.config["USAGE_KEY_LINK_HOURS"] * 3600)
    except SignatureExpired:
        raise LinkInvalid(_l("This link has expired. Ask an administrator to send a new one.")) from None
    except (BadSignature, ValueError, TypeError):
        raise LinkInvalid(_l("This link is not valid. Copy the whole address from the e-mail.")) from None
    key = db.session.get(ApiToken, key_id) if isinstance(key_id, int) else None
    if key is None or key.kind != "usage" or not isinstance(nonce, str) or key.reveal_digest != _digest(nonce):
        raise LinkInvalid(_l("This link has been used already, or a newer one replaced it. A key is shown only once; "
                             "if you did not see it, ask an administrator."))
    if key.status != "active" or (key.expires_at is not None and key.expires_at <= utcnow()):
        raise LinkInvalid(_l("This key is no longer valid. Ask an administrator."))
    return key, nonce


def reveal(signed: str, *, ip: str) -> tuple[ApiToken, str]:
    """Mint the key and return it, exactly once per link: the compare-and-set on the link's digest
    lets one of two simultaneous clicks through."""
    key, nonce = _check_link(signed)
    raw = generate_raw("usage")
    won = db.session.execute(
        update(ApiToken).where(ApiToken.id == key.id, ApiToken.reveal_digest == _digest(nonce),
                               ApiToken.status == "active")
        .values(token_hash=hash_token(raw), prefix=raw[:PREFIX_CHARS], reveal_digest=None, revealed_at=utcnow())
        .execution_options(synchronize_session=False)).rowcount
    if not won:
        db.session.rollback()
        raise LinkInvalid(_l("This link has been used already. A key is shown only once."))
    audit.record("usage_key.reveal", ip=ip, actor_label=key.contact_email, target=_target(key))
    db.session.commit()
    db.session.refresh(key)
    return key, raw


# --- Usage ------------------------------------------------------------------------------------


def daily_usage(actor: User, key_id: int, *, days: int = 30) -> tuple[ApiToken, list[tuple[date, int]]]:
    """Reviews per UTC day over the last `days` days (zeros included), for the key's chart."""
    key = _usage_key(actor, key_id)
    today = utcnow().date()
    first = today - timedelta(days=days - 1)
    found = dict(db.session.execute(select(UsageDay.day, UsageDay.reviews).where(
        UsageDay.token_id == key.id, UsageDay.day >= first)).all())
    return key, [(first + timedelta(days=n), found.get(first + timedelta(days=n), 0)) for n in range(days)]
