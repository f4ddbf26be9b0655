"""GitHub/GitLab identities: sign-in, linking, pre-provisioning (the rules in DESIGN.md)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.models import PLATFORMS, Identity, User
from webapp.accounts.service import require_admin, mark_signed_in, new_user
from webapp.audit import service as audit
from webapp.errors import Conflict, Forbidden, ValidationFailed
from webapp.extensions import db
from webapp.models_base import utcnow

# GitHub: 1-39 alphanumerics or single hyphens; GitLab also allows dots and underscores.
LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,254})$")
PLATFORM_NAMES = {"github": "GitHub", "gitlab": "GitLab"}


@dataclass(frozen=True)
class ProviderProfile:
    """What we keep from the provider's user endpoint."""

    platform: str
    provider_user_id: str
    login: str
    name: str = ""
    email: str = ""


def check_platform_login(platform: str, login: str) -> tuple[str, str]:
    platform = (platform or "").strip().lower()
    login = (login or "").strip()
    if platform not in PLATFORMS:
        raise ValidationFailed(_l("Choose GitHub or GitLab."), field="platform")
    if not LOGIN_RE.match(login):
        raise ValidationFailed(_l("Enter the login exactly as on GitHub or GitLab (letters, digits, '-', '_', '.')."),
                               field="login")
    return platform, login


def find_by_login(platform: str, login: str) -> Identity | None:
    return db.session.scalar(
        select(Identity).where(Identity.platform == platform, Identity.login_key == login.lower())
    )


def reserve_login(user: User, platform: str, login: str) -> Identity:
    """Attach a pre-provisioned identity (no provider id yet) to `user`; caller commits."""
    platform, login = check_platform_login(platform, login)
    if find_by_login(platform, login):
        raise Conflict(_l("%(user_id)s is already taken.", user_id=f"{platform}:{login}"), field="login")
    if user.identity_for(platform):
        raise Conflict(_l("This user already has a %(platform)s identity.", platform=PLATFORM_NAMES[platform]),
                       field="platform")
    identity = Identity(platform=platform, login=login, login_key=login.lower())
    user.identities.append(identity)
    return identity


def preprovision(actor: User, platform: str, login: str, *, ip: str) -> User:
    """Admin: create a placeholder user holding `platform:login` so agents can be served before sign-in."""
    require_admin(actor)
    platform, login = check_platform_login(platform, login)
    if find_by_login(platform, login):
        raise Conflict(_l("%(user_id)s is already taken.", user_id=f"{platform}:{login}"), field="login")
    user = new_user(display_name=login)
    reserve_login(user, platform, login)
    db.session.flush()
    audit.record("admin.identity.preprovision", ip=ip, actor=actor, target=f"{platform}:{login}")
    db.session.commit()
    return user


def _refuse(message, profile: ProviderProfile, reason: str, ip: str):
    audit.record_now("auth.login", ip=ip, actor_label=f"{profile.platform}:{profile.login}", outcome="failure",
                     details={"method": profile.platform, "reason": reason,
                              "provider_user_id": profile.provider_user_id})
    raise Conflict(message)


def sign_in_with_provider(profile: ProviderProfile, *, ip: str, admin_users: frozenset = frozenset(),
                          link_to: User | None = None) -> User:
    """Resolve a provider sign-in to a user; create, claim, rename or link, never merge two users."""
    platform, name = profile.platform, PLATFORM_NAMES[profile.platform]
    key = profile.login.lower()
    identity = db.session.scalar(
        select(Identity).where(Identity.platform == platform, Identity.provider_user_id == profile.provider_user_id)
    )
    holder = find_by_login(platform, profile.login)
    action = "auth.login"

    if identity is not None:
        if link_to is not None and identity.user_id != link_to.id:
            _refuse(_l("This %(platform)s account is already linked to another AgentDesk user.", platform=name),
                    profile, "linked_elsewhere", ip)
        if holder is not None and holder.id != identity.id:
            _refuse(_l("Your %(platform)s login is now '%(login)s', but AgentDesk already has '%(login)s' for "
                       "another account. Nothing was merged; ask an administrator to sort it out.",
                       platform=name, login=profile.login), profile, "renamed_into_taken_login", ip)
        if identity.login != profile.login:
            audit.record("auth.identity.renamed", ip=ip, actor=identity.user, target=f"{platform}:{profile.login}",
                         details={"from": identity.login})
            identity.login, identity.login_key = profile.login, key
        user = identity.user
    elif holder is not None:
        if holder.provider_user_id is not None:
            _refuse(_l("The %(platform)s login '%(login)s' belongs to a different %(platform)s account in AgentDesk. "
                       "Nothing was merged; ask an administrator.", platform=name, login=profile.login),
                    profile, "login_owned_by_other_account", ip)
        if link_to is not None and holder.user_id != link_to.id:
            _refuse(_l("'%(user_id)s' is reserved for another AgentDesk user. Ask an administrator.",
                       user_id=f"{platform}:{profile.login}"), profile, "reserved_for_other_user", ip)
        holder.provider_user_id, holder.login = profile.provider_user_id, profile.login
        identity, user = holder, holder.user
        action = "auth.identity.claimed"
    elif link_to is not None:
        if link_to.identity_for(platform):
            _refuse(_l("You already have a %(platform)s account linked.", platform=name), profile, "already_linked", ip)
        identity = Identity(platform=platform, provider_user_id=profile.provider_user_id, login=profile.login,
                            login_key=key)
        link_to.identities.append(identity)
        user = link_to
        action = "auth.identity.linked"
    else:
        email = (profile.email or "").strip().lower() or None
        if email and db.session.scalar(select(User.id).where(User.email == email)):
            email = None  # never attach a provider sign-in to a local account by e-mail alone
        user = new_user(display_name=profile.name or profile.login, email=email)
        identity = Identity(platform=platform, provider_user_id=profile.provider_user_id, login=profile.login,
                            login_key=key)
        user.identities.append(identity)
        db.session.flush()
        audit.record("auth.register", ip=ip, actor=user, target=identity.user_key,
                     details={"method": platform, "admin": user.is_admin})

    if not user.active:
        db.session.rollback()
        audit.record_now("auth.login", ip=ip, actor=user, outcome="failure",
                         details={"method": platform, "reason": "inactive"})
        raise Forbidden(_l("This account has been deactivated. Ask an administrator to reactivate it."))
    if (platform, key) in admin_users and not user.is_admin:
        user.is_admin = True
        audit.record("admin.user.grant_admin", ip=ip, actor_label="ADMIN_USERS", target=identity.user_key)
    identity.last_login_at = utcnow()
    if action != "auth.login":
        db.session.flush()
        audit.record(action, ip=ip, actor=user, target=identity.user_key)
    if link_to is not None:
        db.session.commit()
    else:
        mark_signed_in(user, ip=ip, method=platform)
    return user
