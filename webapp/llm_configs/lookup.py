"""The agents' hot path: resolve platform:username to effective settings in one SQL statement.

SQLAlchemy Core with statements built once (their compiled form is cached), no ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, bindparam, literal, select, tuple_
from sqlalchemy.orm import aliased

from webapp.accounts.models import Identity, User
from webapp.llm_configs import resolve
from webapp.llm_configs.fields import FIELDS
from webapp.llm_configs.models import DEFAULT_SCOPE, LLMConfig

_own = aliased(LLMConfig, name="own")
_default = aliased(LLMConfig, name="dflt")
_COLUMNS = [
    Identity.platform, Identity.login, Identity.login_key, Identity.user_id, User.active.label("user_active"),
    _own.created_at.label("own_created_at"), _own.updated_at.label("own_updated_at"),
    _default.created_at.label("dflt_created_at"), _default.updated_at.label("dflt_updated_at"),
    *[getattr(_own, f.name).label(f"own_{f.name}") for f in FIELDS],
    *[getattr(_default, f.name).label(f"dflt_{f.name}") for f in FIELDS],
    _own.id.label("own_id"), _default.id.label("dflt_id"),
]
_BASE = (
    select(*_COLUMNS)
    .select_from(Identity)
    .join(User, User.id == Identity.user_id)
    .outerjoin(_own, _own.user_id == Identity.user_id)
    .outerjoin(_default, _default.scope_key == literal(DEFAULT_SCOPE))
)
_ONE = _BASE.where(and_(Identity.platform == bindparam("platform"), Identity.login_key == bindparam("login_key")))


@dataclass(frozen=True)
class Found:
    platform: str
    login: str
    user_id: object
    active: bool
    values: dict | None  # None: neither the user nor the default has a provider
    created_at: datetime | None
    updated_at: datetime | None


def _found(row) -> Found:
    mapping = row._mapping
    own = {f.name: mapping[f"own_{f.name}"] for f in FIELDS} if mapping["own_id"] is not None else None
    default = {f.name: mapping[f"dflt_{f.name}"] for f in FIELDS} if mapping["dflt_id"] is not None else None
    merged = resolve.effective(own, default)
    source = "own" if own is not None else "dflt"
    return Found(platform=mapping["platform"], login=mapping["login"], user_id=mapping["user_id"],
                 active=mapping["user_active"],
                 values=merged[0] if merged else None, created_at=mapping[f"{source}_created_at"],
                 updated_at=mapping[f"{source}_updated_at"])


def find_one(connection, platform: str, username: str) -> Found | None:
    row = connection.execute(_ONE, {"platform": platform, "login_key": username.lower()}).first()
    return _found(row) if row is not None else None


def find_many(connection, pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Found]:
    """One query whatever the number of users; keyed by (platform, lower-cased login)."""
    if not pairs:
        return {}
    keys = sorted({(p, u.lower()) for p, u in pairs})
    statement = _BASE.where(tuple_(Identity.platform, Identity.login_key).in_(keys))
    return {(row.platform, row.login_key): _found(row) for row in connection.execute(statement)}
