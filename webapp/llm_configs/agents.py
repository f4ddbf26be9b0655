"""What an agent's credential may read: the rules behind spec 000's GET, HEAD, batch and the
legacy /config path."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from webapp.db.crypto import box, mask_secret
from webapp.errors import Forbidden, NotFound
from webapp.llm_configs import lookup, resolve
from webapp.llm_configs.fields import PROVIDERS
from webapp.principal import Principal

# The legacy agent indexes llm[provider]: when nobody chose a provider, it gets this one's built-ins.
LEGACY_FALLBACK_PROVIDER = "openai"


@dataclass(frozen=True)
class BatchResult:
    found: list[lookup.Found]  # in request order, each user once
    not_found: list[str]  # platform:username of users without readable settings
    distinct: int


@dataclass(frozen=True)
class LegacyResult:
    found: lookup.Found
    defaults_served: str | None  # why the instance defaults were served: "unknown_user", "no_settings"


def _may_read(principal: Principal, found: lookup.Found) -> bool:
    """Service tokens read anyone's settings; a personal token only its owner's."""
    return principal.kind != "personal" or found.user_id == principal.user_id


def _visible(principal: Principal, found: lookup.Found) -> lookup.Found:
    """The instance default's key reaches a personal token only if the admin shares it; service
    tokens (agents the admin set up) always get it."""
    if principal.kind == "personal" and found.key_from_default and not found.default_shares_key and found.values:
        return replace(found, values={**found.values, "openai_api_key": ""})
    return found


def _user_not_found(platform: str, username: str) -> NotFound:
    return NotFound(f"User '{platform}:{username}' not found", code="USER_NOT_FOUND",
                    details={"platform": platform, "username": username})


def _readable(principal: Principal, found: lookup.Found, platform: str, username: str) -> None:
    if not found.active:
        raise Forbidden(f"User '{platform}:{username}' is deactivated in AgentDesk.",
                        details={"platform": platform, "username": username})


def _find(principal: Principal, platform: str, username: str) -> lookup.Found | None:
    """The user, if this credential may know of them: to a personal token everyone but its owner
    is unknown, so it cannot tell who has an account."""
    found = lookup.find_one(platform, username)
    return found if found is not None and _may_read(principal, found) else None


def prefetch_one(platform: str, username: str):
    """What read_one() and read_legacy() will look up, to be fetched ahead with the credential."""
    return lookup.one_query(platform, username)


def read_one(principal: Principal, platform: str, username: str) -> lookup.Found:
    """The effective settings of platform:username, or the spec's error for why not."""
    found = _find(principal, platform, username)
    details = {"platform": platform, "username": username}
    if found is None:
        raise _user_not_found(platform, username)
    _readable(principal, found, platform, username)
    if found.values is None:
        raise NotFound(f"LLM configuration not found for user '{platform}:{username}'", code="CONFIG_NOT_FOUND",
                       details=details)
    return _visible(principal, found)


def read_legacy(principal: Principal, platform: str, username: str) -> LegacyResult:
    """What the deployed coding agent gets on /config: like read_one, except that an unknown user
    or one without settings gets the instance defaults (200), as the server it was written for
    answered; its task loop stops on any 4xx. A deactivated user is still refused."""
    found = _find(principal, platform, username)
    reason = "unknown_user" if found is None else None
    if found is not None:
        _readable(principal, found, platform, username)
        if found.values is None:
            reason = "no_settings"
    if reason is None:
        return LegacyResult(_visible(principal, found), None)
    defaults = lookup.default_settings()
    if defaults.values["provider"] not in PROVIDERS:
        defaults = replace(defaults, values={**defaults.values, "provider": LEGACY_FALLBACK_PROVIDER})
    return LegacyResult(_visible(principal, defaults), reason)


def read_many(principal: Principal, users: list[tuple[str, str]]) -> BatchResult:
    """Up to 100 users in two queries; the unknown, deactivated and unconfigured go to not_found,
    and so, for a personal token, does everyone but its owner."""
    rows = lookup.find_many(users)
    found, not_found, seen = [], [], set()
    for platform, username in users:
        key = (platform, username.lower())
        if key in seen:
            continue
        seen.add(key)
        item = rows.get(key)
        if item is None or not _may_read(principal, item) or not item.active or item.values is None:
            not_found.append(f"{platform}:{username}")
        else:
            found.append(_visible(principal, item))
    return BatchResult(found=found, not_found=not_found, distinct=len(seen))


def previews(user) -> list[tuple[object, str | None]]:
    """For each of the user's logins, the answer `preview()` gives, as indented JSON text."""
    return [(identity, None if (document := preview(identity.platform, identity.login)) is None
             else json.dumps(document, indent=2, ensure_ascii=False)) for identity in user.identities]


def preview(platform: str, login: str) -> dict | None:
    """The answer a service token gets from GET /v1/users/{platform}/{login}/llm-config?mask_api_key=true
    (spec 000), for showing people what their agents receive; None when agents get an error."""
    found = lookup.find_one(platform, login)
    if found is None or not found.active or found.values is None:
        return None
    secrets = box()
    data = resolve.user_config_json(found.platform, found.login, found.values,
                                    lambda secret: mask_secret(secrets.decrypt(secret)) if secret else "",
                                    include_system_prompt=True, created_at=found.created_at,
                                    updated_at=found.updated_at)
    return {"status": "success", "data": data}
