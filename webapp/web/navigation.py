"""The site navigation: a personal group and an Admin menu. Features add their pages here, in
the order they should appear (tasks, documents, usage keys ... will join these lists)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: object  # a lazy string, translated when rendered
    icon: str
    args: dict = field(default_factory=dict)

    def __iter__(self):  # unpacks as (endpoint, args, label, icon) in the templates
        return iter((self.endpoint, self.args, self.label, self.icon))


PERSONAL: list[NavItem] = [
    NavItem("dashboard.index", _l("Home"), "home"),
    NavItem("tasks.index", _l("Tasks"), "activity"),
    NavItem("chats.page", _l("Chat"), "inbox"),
    NavItem("workspace.page", _l("Workspace"), "terminal"),
    NavItem("review.page", _l("Code review"), "code"),
    NavItem("llm_settings.page", _l("LLM settings"), "sliders", {"scope": "mine"}),
    NavItem("tokens.page", _l("My tokens"), "key", {"kind": "personal"}),
]
# The organisation's shared things (spec 001), in their own menu.
ORGANISATION: list[NavItem] = [
    NavItem("documents.page", _l("Documents"), "list"),
    NavItem("organisation.page", _l("Settings and widget"), "globe"),
    NavItem("usage.page", _l("Usage"), "activity"),
    NavItem("billing.page", _l("Billing"), "shield"),
]
ADMIN: list[NavItem] = [
    NavItem("admin.users", _l("Users"), "users"),
    NavItem("llm_settings.page", _l("Default LLM"), "sliders", {"scope": "default"}),
    NavItem("tokens.page", _l("Service tokens"), "key", {"kind": "service"}),
    NavItem("usage_keys.admin_index", _l("Usage keys"), "key"),
    NavItem("review.rules_page", _l("Review rules"), "list"),
    NavItem("mail.outbox", _l("Outbox"), "inbox"),
    NavItem("audit.events", _l("Audit log"), "list"),
]


@dataclass(frozen=True)
class Navigation:
    personal: list[NavItem]
    admin: list[NavItem]
    in_admin: bool
    organisation: list[NavItem]
    in_organisation: bool


def navigation() -> Navigation | None:
    if not current_user.is_authenticated:
        return None
    admin = ADMIN if current_user.is_admin else []
    in_admin = any(request.path == url_for(item.endpoint, **item.args) for item in admin) or (
        bool(admin) and (request.blueprint == "admin" or request.path.startswith("/admin/")))
    in_organisation = any(request.path.startswith(url_for(item.endpoint, **item.args)) for item in ORGANISATION)
    return Navigation(PERSONAL, admin, in_admin, ORGANISATION, in_organisation)
