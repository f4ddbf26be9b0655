"""Local accounts and the admin's user management: register, authenticate, activate, promote."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from email_validator import EmailNotValidError, validate_email
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, exists, func, or_, select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.logins import reserve_login
from webapp.accounts.models import PLATFORMS, Identity, Tenant, User
from webapp.accounts.passwords import hash_password, needs_rehash, verify_password
from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import AuthenticationFailed, Conflict, Forbidden, NotFound, ValidationFailed

USERNAME_RE = re.compile(r"^[A-Za-z0-9_]{3,100}$")
PASSWORD_MAX = 1024


def normalize_email(email: str) -> str:
    """Validate an address and return it lower-cased; raise ValidationFailed for a bad one."""
    try:
        return validate_email(email.strip(), check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        raise ValidationFailed(_l("Enter a valid e-mail address."), field="email") from None


def check_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username or ""):
        raise ValidationFailed(
            _l("Use 3 to 100 letters, digits or underscores."), field="username"
        )
    return username


def check_password(password: str) -> str:
    """Spec 001 §5.2: at least 8 characters with an upper-case letter, a lower-case letter and a digit."""
    if (
        len(password or "") < 8
        or len(password) > PASSWORD_MAX
        or not re.search(r"[A-Z]", password)
        or not re.search(r"[a-z]", password)
        or not re.search(r"[0-9]", password)
    ):
        raise ValidationFailed(
            _l("Use at least 8 characters, with an upper-case letter, a lower-case letter and a digit."),
            field="password",
        )
    return password


def _no_users_yet() -> bool:
    return not db.session.scalar(select(exists().where(User.id.isnot(None))))


def is_new_instance() -> bool:
    """No account exists yet: the next one to register becomes the administrator."""
    return _no_users_yet()


def new_user(*, tenant_name: str | None = None, **fields) -> User:
    """A user in its own tenant (named, or personal), which they administer (role ADMIN: they
    created it and are its only member; people moved into an organisation later are OPERATORs);
    the very first account also becomes instance admin. Added to the session; the caller commits."""
    label = tenant_name or fields.get("username") or fields.get("email") or fields.get("display_name") or "personal"
    tenant = Tenant(name=(tenant_name or label)[:200], is_personal=not tenant_name)
    first = _no_users_yet()
    requested_admin = fields.pop("is_admin", False)
    user = User(tenant=tenant, is_admin=first or requested_admin, role="ADMIN", **fields)
    db.session.add(user)
    return user


def _check_free(email: str, username: str | None) -> None:
    if db.session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(_l("An account with this e-mail address already exists."), field="email")
    if username and db.session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise Conflict(_l("This username is taken."), field="username")


def register_local(*, email: str, username: str, password: str, tenant_name: str | None, ip: str,
                   tenant_domain: str | None = None) -> User:
    """Create a local account (with its organisation's domain, spec 001); raise ValidationFailed or
    Conflict naming the field at fault. All in one commit: a lost race is a 409, not half an account."""
    email = normalize_email(email)
    check_username(username)
    check_password(password)
    _check_free(email, username)
    domain = (tenant_domain or "").strip().lower() or None
    taken = Conflict(_l("This domain belongs to another organisation."), field="tenant_domain")
    if domain and db.session.scalar(select(Tenant.id).where(Tenant.domain == domain)):
        raise taken
    user = new_user(
        tenant_name=(tenant_name or "").strip() or None,
        email=email, username=username, display_name=username, password_hash=hash_password(password),
    )
    user.tenant.domain = domain
    try:
        db.session.flush()
    except IntegrityError:  # another sign-up took the e-mail, username or domain a moment ago
        db.session.rollback()
        raise taken if domain else Conflict(_l("An account with this e-mail address already exists."),
                                            field="email") from None
    audit.record("auth.register", ip=ip, actor=user, target=email, details={"method": "local", "admin": user.is_admin})
    db.session.commit()
    return user


def find_user(user_id) -> User | None:
    return db.session.get(User, user_id) if user_id else None


def authenticate(*, login: str, password: str, ip: str) -> User:
    """Check an e-mail-or-username and password; audit either way."""
    login = (login or "").strip()
    column = User.email if "@" in login else func.lower(User.username)
    user = db.session.scalar(select(User).where(column == login.lower()))
    if not verify_password(user.password_hash if user else None, password or ""):
        audit.record_detached("auth.login", ip=ip, actor=user, actor_label=login[:320], outcome="failure",
                              details={"method": "local", "reason": "bad_credentials"})
        raise AuthenticationFailed(_l("Wrong e-mail/username or password."))
    if not user.active:
        audit.record_detached("auth.login", ip=ip, actor=user, outcome="failure",
                              details={"method": "local", "reason": "inactive"})
        raise Forbidden(_l("This account has been deactivated. Ask an administrator to reactivate it."))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    mark_signed_in(user, ip=ip, method="local")
    return user


def load_session_user(session_id: str) -> User | None:
    """The user a session or remember-me cookie names ("<user id>.<session version>"), if that
    user may still be signed in: active, and not signed out everywhere since the cookie was made."""
    user_id, _, version = (session_id or "").partition(".")
    try:
        user = db.session.get(User, uuid.UUID(user_id))
    except ValueError:
        return None
    if user is None or not user.active or str(user.session_version) != version:
        return None
    return user


def _end_sessions(user: User) -> None:
    """Every session and remember-me cookie issued so far stops working; the caller commits."""
    user.session_version = (user.session_version or 0) + 1


def sign_out_everywhere(user: User, *, ip: str) -> None:
    _end_sessions(user)
    audit.record("auth.sessions.revoke", ip=ip, actor=user)
    db.session.commit()


def change_password(user: User, *, current: str, new: str, ip: str) -> None:
    """Check the current password, set the new one and end every other session."""
    if user.password_hash and not verify_password(user.password_hash, current or ""):
        raise ValidationFailed(_l("The current password is not right."), field="current_password")
    check_password(new)
    user.password_hash = hash_password(new)
    _end_sessions(user)
    audit.record("auth.password.change", ip=ip, actor=user)
    db.session.commit()


def find_by_email(email: str) -> User:
    user = db.session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise NotFound(_l("No user with e-mail %(email)s.", email=email), field="email")
    return user


def mark_signed_in(user: User, *, ip: str, method: str) -> None:
    user.last_login_at = utcnow()
    audit.record("auth.login", ip=ip, actor=user, details={"method": method})
    db.session.commit()


def record_logout(user: User, *, ip: str) -> None:
    audit.record_detached("auth.logout", ip=ip, actor=user)


def set_locale(user: User, locale: str) -> None:
    user.locale = locale
    db.session.commit()


THEMES = ("light", "dark")  # spec 004's `theme` setting; no entry follows the system setting


def set_theme(user: User, theme: str | None) -> None:
    """Light, dark, or None to follow the device's setting."""
    if theme is not None and theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}")
    preferences = {k: v for k, v in (user.preferences or {}).items() if k != "theme"}
    if theme:
        preferences["theme"] = theme
    user.preferences = preferences  # a new dict: JSON columns do not track changes in place
    db.session.commit()


def theme_of(user: User) -> str | None:
    theme = (user.preferences or {}).get("theme")
    return theme if theme in THEMES else None


def create_account(*, email: str, password: str, username: str | None, admin: bool,
                   logins: dict[str, str]) -> User:
    """An operator's account (`flask users create`): local, optionally admin, with reserved logins."""
    email = normalize_email(email)
    check_password(password)
    if username:
        check_username(username)
    _check_free(email, username)
    user = new_user(email=email, username=username, display_name=username or email.split("@")[0],
                    password_hash=hash_password(password), is_admin=admin)
    for platform, login in logins.items():
        reserve_login(user, platform, login)
    db.session.flush()
    audit.record("admin.user.create", ip="cli", actor_label="cli", target=email,
                 details={"admin": user.is_admin, "identities": sorted(i.user_key for i in user.identities)})
    db.session.commit()
    return user


# --- Admin: find, activate, promote -------------------------------------------------------


@dataclass(frozen=True)
class UserFilter:
    q: str = ""
    active: bool | None = None
    admin: bool | None = None
    platform: str = ""  # github / gitlab / local
    sort: str = "-created"  # name, created; a leading "-" for descending


USER_SORTS = ("name", "created")


def search_users(filters: UserFilter, page: int, per_page: int):
    key, descending = filters.sort.lstrip("-"), filters.sort.startswith("-")
    column = (func.lower(func.coalesce(func.nullif(User.display_name, ""), User.username, User.email, ""))
              if key == "name" else User.created_at)
    query = select(User).order_by(column.desc() if descending else column.asc(), User.id)
    if filters.q:
        needle = f"%{filters.q.strip().lower()}%"
        query = query.where(or_(
            func.lower(User.email).like(needle), func.lower(User.username).like(needle),
            func.lower(User.display_name).like(needle),
            User.identities.any(Identity.login_key.like(needle)),
        ))
    if filters.active is not None:
        query = query.where(User.active.is_(filters.active))
    if filters.admin is not None:
        query = query.where(User.is_admin.is_(filters.admin))
    if filters.platform in PLATFORMS:
        query = query.where(User.identities.any(Identity.platform == filters.platform))
    elif filters.platform == "local":
        query = query.where(User.password_hash.isnot(None))
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def get_user(user_id) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(_l("No such user."))
    return user


def _active_admin_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User)
                             .where(User.is_admin.is_(True), User.active.is_(True)))


def require_admin(actor: User) -> None:
    if not (actor and actor.is_admin and actor.active):
        raise Forbidden(_l("Only administrators can do this."))


# Each flag an admin can flip: (audit action when set, when cleared, refusal when it would leave no admin).
_FLAGS = {
    "active": ("admin.user.activate", "admin.user.deactivate",
               _l("You cannot deactivate the last active administrator.")),
    "is_admin": ("admin.user.grant_admin", "admin.user.revoke_admin",
                 _l("You cannot remove the last administrator. Make someone else an administrator first.")),
}


def _set_flag(actor: User, user_id, flag: str, value: bool, ip: str) -> User:
    require_admin(actor)
    user = get_user(user_id)
    if getattr(user, flag) == value:
        return user
    set_action, clear_action, last_admin_message = _FLAGS[flag]
    if not value and user.is_admin and user.active and _active_admin_count() <= 1:
        raise Conflict(last_admin_message)
    setattr(user, flag, value)
    if flag == "active" and not value:
        _end_sessions(user)
    audit.record(set_action if value else clear_action, ip=ip, actor=actor, target=audit.actor_label_for(user))
    db.session.commit()
    return user


def set_active(actor: User, user_id, active: bool, *, ip: str) -> User:
    return _set_flag(actor, user_id, "active", active, ip)


def set_admin(actor: User, user_id, admin: bool, *, ip: str) -> User:
    return _set_flag(actor, user_id, "is_admin", admin, ip)


def users_by_day(day_ends: list) -> list[int]:
    """How many accounts existed at each of these moments (one statement)."""
    columns = [func.coalesce(func.sum(case((User.created_at < end, 1), else_=0)), 0) for end in day_ends]
    return [int(value) for value in db.session.execute(select(*columns)).one()]
