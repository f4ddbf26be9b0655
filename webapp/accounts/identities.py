"""GitHub/GitLab identities: sign-in, linking, pre-provisioning (the rules in DESIGN.md)."""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.logins import PLATFORM_NAMES, check_platform_login, find_by_login, reserve_login
from webapp.accounts.models import Identity, User
from webapp.accounts.service import mark_signed_in, new_user, require_admin
from webapp.audit import service as audit
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.errors import Conflict, Forbidden, NotFound


@dataclass(frozen=True)
class ProviderProfile:
    """What we keep from the provider's user endpoint."""

    platform: str
    provider_user_id: str
    login: str
    name: str = ""
    email: str = ""


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


def attach(actor: User | None, user: User, platform: str, login: str, *, ip: str) -> Identity:
    """Admin (or the `users link` command, actor None): give an existing account a GitHub/GitLab
    login without OAuth. It is reserved until the person signs in with it, which binds it to their
    provider account (as for any pre-provisioned login)."""
    if actor is not None:
        require_admin(actor)
    identity = reserve_login(user, platform, login)
    db.session.flush()
    audit.record("admin.identity.attach", ip=ip, actor=actor, actor_label=None if actor else "cli",
                 target=identity.user_key, details={"user": str(user.id)})
    db.session.commit()
    return identity


def detach(actor: User, user: User, platform: str, *, ip: str) -> None:
    """Admin: remove a login from an account. Agents asking for it find no one from then on. Not the
    account's last way to sign in: set a password or attach another login first."""
    require_admin(actor)
    identity = user.identity_for(platform)
    if identity is None:
        raise NotFound(_l("This user has no %(platform)s login.", platform=PLATFORM_NAMES.get(platform, platform)))
    if identity.admin_grant:
        # The binding that keeps whoever takes this login name later from inheriting the grant.
        raise Conflict(_l("This login holds the ADMIN_USERS entry %(entry)s for this account: remove the entry from "
                          "ADMIN_USERS and restart first, or the next owner of the name could claim it.",
                          entry=identity.admin_grant))
    others = [i for i in user.identities if i is not identity and not i.provisioned_only]
    if not user.password_hash and not others and not identity.provisioned_only:
        raise Conflict(_l("This is the only way %(name)s signs in. Set a password or attach another login first.",
                          name=user.label))
    user.identities.remove(identity)
    audit.record("admin.identity.detach", ip=ip, actor=actor, target=identity.user_key,
                 details={"user": str(user.id)})
    db.session.commit()


def record_failed_sign_in(platform: str, reason: str, *, ip: str, error: str = "") -> None:
    """A provider sign-in that never produced a profile (declined, expired, unreachable)."""
    details = {"method": platform, "reason": reason, **({"error": error} if error else {})}
    audit.record_detached("auth.login", ip=ip, actor_label=platform, outcome="failure", details=details)


def _refuse(message, profile: ProviderProfile, reason: str, ip: str):
    audit.record_detached("auth.login", ip=ip, actor_label=f"{profile.platform}:{profile.login}", outcome="failure",
                          details={"method": profile.platform, "reason": reason,
                                   "provider_user_id": profile.provider_user_id})
    raise Conflict(message)


def _admin_entry(platform: str, key: str, admin_users: frozenset, identity: Identity | None) -> str | None:
    """The ADMIN_USERS entry this sign-in may use: it names the login, and no other provider account
    has been made admin by it already (the first to claim it keeps it, whatever it is renamed to)."""
    if (platform, key) not in admin_users:
        return None
    entry = f"{platform}:{key}"
    holder = db.session.scalar(select(Identity).where(Identity.admin_grant == entry))
    return entry if holder is None or holder is identity else None


def admin_grants_renamed_away() -> list[tuple[str, str]]:
    """(ADMIN_USERS entry, the account's login now) for admins whose login changed since: the entry
    no longer names them, and grants nothing to whoever takes that name. For the admin's attention."""
    bound = db.session.scalars(select(Identity).where(Identity.admin_grant.isnot(None)))
    return [(i.admin_grant, i.user_key) for i in bound if i.admin_grant != f"{i.platform}:{i.login_key}"]


def sign_in_with_provider(profile: ProviderProfile, *, ip: str, admin_users: frozenset = frozenset(),
                          link_to: User | None = None, registration_open: bool = True) -> User:
    """Resolve a provider sign-in to a user; create, claim, rename or link, never merge two users.

    With registration closed, only a login an admin reserved, or one named in ADMIN_USERS, gets a
    new account; everyone else is refused before anything is written.
    """
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
            identity.renamed_from = identity.login
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
        if not registration_open and _admin_entry(platform, key, admin_users, None) is None:
            _refuse(_l("Registration is closed on this instance. Ask an administrator to reserve your "
                       "%(platform)s login '%(login)s' for you.", platform=name, login=profile.login),
                    profile, "registration_closed", ip)
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
        audit.record_detached("auth.login", ip=ip, actor=user, outcome="failure",
                              details={"method": platform, "reason": "inactive"})
        raise Forbidden(_l("This account has been deactivated. Ask an administrator to reactivate it."))
    entry = _admin_entry(platform, key, admin_users, identity)
    if entry is not None and not user.is_admin:
        user.is_admin = True
        audit.record("admin.user.grant_admin", ip=ip, actor_label="ADMIN_USERS", target=identity.user_key)
    if entry is not None and identity.admin_grant is None:
        identity.admin_grant = entry
    identity.last_login_at = utcnow()
    if action != "auth.login":
        db.session.flush()
        audit.record(action, ip=ip, actor=user, target=identity.user_key)
    if link_to is not None:
        db.session.commit()
    else:
        mark_signed_in(user, ip=ip, method=platform)
    return user
