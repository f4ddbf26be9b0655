"""What an agent's token may read: the rules behind spec 000's GET, HEAD, batch and /config."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.errors import Forbidden, NotFound
from webapp.llm_configs import lookup
from webapp.tokens.service import Principal


@dataclass(frozen=True)
class BatchResult:
    found: list[lookup.Found]  # in request order, each user once
    not_found: list[str]  # platform:username of users without readable settings
    distinct: int


def _may_read(principal: Principal, found: lookup.Found) -> bool:
    """Service tokens read anyone's settings; a personal token only its owner's."""
    return principal.kind != "personal" or found.user_id == principal.user_id


def read_one(principal: Principal, connection, platform: str, username: str) -> lookup.Found:
    """The effective settings of platform:username, or the spec's error for why not."""
    found = lookup.find_one(connection, platform, username)
    details = {"platform": platform, "username": username}
    if found is None:
        raise NotFound(f"User '{platform}:{username}' not found", code="USER_NOT_FOUND", details=details)
    if not _may_read(principal, found):
        raise Forbidden("A personal token can only read its owner's settings.", details=details)
    if not found.active:
        raise Forbidden(f"User '{platform}:{username}' is deactivated in AgentDesk.", details=details)
    if found.values is None:
        raise NotFound(f"LLM configuration not found for user '{platform}:{username}'", code="CONFIG_NOT_FOUND",
                       details=details)
    return found


def read_many(principal: Principal, connection, users: list[tuple[str, str]]) -> BatchResult:
    """Up to 100 users in two queries; the unknown, deactivated and unconfigured go to not_found.

    A personal token asking for anyone but its owner is refused as a whole (403).
    """
    rows = lookup.find_many(connection, users)
    found, not_found, seen = [], [], set()
    for platform, username in users:
        key = (platform, username.lower())
        if key in seen:
            continue
        seen.add(key)
        item = rows.get(key)
        if item is not None and not _may_read(principal, item):
            raise Forbidden("A personal token can only read its owner's settings.",
                            details={"platform": platform, "username": username})
        if item is None or not item.active or item.values is None:
            not_found.append(f"{platform}:{username}")
        else:
            found.append(item)
    return BatchResult(found=found, not_found=not_found, distinct=len(seen))
