"""Who may see and change which task (issue rule: own, tenant's for tenant admins, all for
instance admins; every other read or write is a 404), as one SQL condition every query carries.

Service tokens are the instance's agents: an administrator issues them, and they already read every
person's LLM settings (spec 000), so they reach every task too. A personal token or a JWT acts as its
owner.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, select, true

from webapp.accounts.logins import find_by_login
from webapp.accounts.models import PLATFORMS, User
from webapp.db.orm import db
from webapp.errors import AuthenticationFailed, NotFound, ValidationFailed
from webapp.principal import Principal
from webapp.tasks.models import Task


@dataclass(frozen=True)
class Actor:
    """The one acting on tasks: a person (browser, JWT, personal token) or an agent's service token."""

    user: User | None
    token_id: int | None = None
    everything: bool = False  # instance admins and service tokens

    @property
    def tenant_admin(self) -> bool:
        return self.user is not None and self.user.role == "ADMIN"

    @classmethod
    def of_user(cls, user: User) -> Actor:
        return cls(user=user, everything=bool(user.is_admin))

    @classmethod
    def of_principal(cls, principal: Principal) -> Actor:
        user = db.session.get(User, principal.user_id) if principal.user_id else None
        if principal.kind == "service":
            return cls(user=user, token_id=principal.token_id, everything=True)
        if user is None or not user.active:
            raise AuthenticationFailed(_l("This credential's account is deactivated."))
        return cls(user=user, token_id=principal.token_id, everything=bool(user.is_admin))

    @property
    def label(self) -> str:
        return self.user.label if self.user is not None else f"token {self.token_id}"


def visible(actor: Actor) -> ColumnElement[bool]:
    """The condition a task must meet for `actor` to see or change it."""
    if actor.everything:
        return true()
    if actor.tenant_admin:
        return Task.tenant_id == actor.user.tenant_id
    return Task.user_id == actor.user.id


def may_act_for(actor: Actor, person: User) -> bool:
    if actor.everything:
        return True
    if actor.tenant_admin:
        return person.tenant_id == actor.user.tenant_id
    return person.id == actor.user.id


def task_not_found(task_id) -> NotFound:
    return NotFound(_l("The task was not found. Check its id, and that it is one of yours."), code="TASK_NOT_FOUND",
                    details=f"Task with id '{str(task_id)[:100].replace(chr(0), chr(0xFFFD))}' does not exist")


def task_id_of(value) -> uuid.UUID:
    """A path's task id; anything that is not one is simply a task that does not exist."""
    try:
        return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))
    except ValueError:
        raise task_not_found(value) from None


def person(actor: Actor, reference: str | None) -> User:
    """The person a new task works for: `platform:login`, a user id, or (None) the caller."""
    if reference is None:
        if actor.user is None:
            raise ValidationFailed(_l("Name the person this task works for: \"user\": \"github:LOGIN\" or a user id."),
                                   field="user")
        return actor.user
    platform, colon, login = reference.partition(":")
    found = None
    if colon and platform.lower() in PLATFORMS:
        identity = find_by_login(platform.lower(), login)
        found = identity.user if identity is not None else None
    else:
        try:
            found = db.session.scalar(select(User).where(User.id == uuid.UUID(reference)))
        except ValueError:
            raise ValidationFailed(_l("\"user\" is \"github:LOGIN\", \"gitlab:LOGIN\" or a user id."),
                                   field="user") from None
    if found is None or not found.active or not may_act_for(actor, found):
        raise NotFound(_l("No such person, or not one you may create tasks for: %(user)s", user=reference[:100]),
                       code="USER_NOT_FOUND", details=f"User '{reference[:100]}' does not exist")
    return found
