"""The agents' hot path: resolve platform:username to effective settings.

One GET is one statement (identity, user, own settings and the instance default joined); a batch
is two whatever its size (the users' rows, then the default once). Statements are compiled once
per dialect and run on the DBAPI cursor (webapp/db/prepared.py); no ORM objects.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from types import MappingProxyType

from sqlalchemy import and_, bindparam, literal, select
from sqlalchemy.orm import aliased

from webapp.accounts.models import Identity, User
from webapp.db.prepared import PreparedQuery, derived
from webapp.llm_configs import resolve
from webapp.llm_configs.fields import FIELDS
from webapp.llm_configs.models import DEFAULT_SCOPE, LLMConfig

BATCH_MAX = 100
_own = aliased(LLMConfig, name="own")
_default = aliased(LLMConfig, name="dflt")


# Besides the settings: the URL each key was saved for, and whether the default shares its key.
EXTRA = ("openai_key_url", "share_key_with_personal_tokens")


def _config_columns(alias, prefix: str) -> list:
    return [alias.id.label(f"{prefix}_id"), alias.created_at.label(f"{prefix}_created_at"),
            alias.updated_at.label(f"{prefix}_updated_at"),
            *[getattr(alias, name).label(f"{prefix}_{name}") for name in (*(f.name for f in FIELDS), *EXTRA)]]


_USER_ROWS = (
    select(Identity.platform, Identity.login, Identity.login_key, Identity.user_id,
           User.active.label("user_active"), *_config_columns(_own, "own"))
    .select_from(Identity)
    .join(User, User.id == Identity.user_id)
    .outerjoin(_own, _own.user_id == Identity.user_id)
)
_ONE = PreparedQuery(
    _USER_ROWS.add_columns(*_config_columns(_default, "dflt"))
    .outerjoin(_default, _default.scope_key == literal(DEFAULT_SCOPE))
    .where(and_(Identity.platform == bindparam("platform"), Identity.login_key == bindparam("login_key"))),
    cacheable=True,  # kept between an agent's requests: webapp/db/read_cache.py
)
_DEFAULT = PreparedQuery(select(*_config_columns(LLMConfig, "dflt")).where(LLMConfig.scope_key == DEFAULT_SCOPE))
# One prepared statement per batch size (1..100), built on first use: `login_key IN (?, ?, ...)` keeps the
# (platform, login_key) index in play; the exact pairs are then picked in Python.
_MANY: dict[int, PreparedQuery] = {}


def _many(size: int) -> PreparedQuery:
    query = _MANY.get(size)
    if query is None:
        keys = [bindparam(f"k{n}") for n in range(size)]
        query = _MANY[size] = PreparedQuery(_USER_ROWS.where(
            Identity.platform.in_([bindparam("p0"), bindparam("p1")]), Identity.login_key.in_(keys)))
    return query


@dataclass(frozen=True)
class Found:
    platform: str
    login: str
    user_id: object
    active: bool
    values: dict | None  # None: neither the user nor the default has a provider
    created_at: datetime | None
    updated_at: datetime | None
    key_from_default: bool = False  # the key served is the instance default's
    default_shares_key: bool = False  # ... and the admin lets personal tokens read it


_OWN_NAMES = tuple((name, f"own_{name}") for name in (*(f.name for f in FIELDS), *EXTRA))
_DEFAULT_NAMES = tuple((name, f"dflt_{name}") for name in (*(f.name for f in FIELDS), *EXTRA))


def _settings(row: dict, prefix: str, names) -> dict | None:
    return {name: row[column] for name, column in names} if row.get(f"{prefix}_id") is not None else None


def _found(row: dict, default_row: dict | None) -> Found:
    own = _settings(row, "own", _OWN_NAMES)
    default = _settings(default_row, "dflt", _DEFAULT_NAMES) if default_row else None
    merged = resolve.effective(own, default)
    dates = row if own is not None else (default_row or {})
    prefix = "own" if own is not None else "dflt"
    return Found(platform=row["platform"], login=row["login"], user_id=row["user_id"], active=row["user_active"],
                 values=merged[0] if merged else None, created_at=dates.get(f"{prefix}_created_at"),
                 updated_at=dates.get(f"{prefix}_updated_at"),
                 key_from_default=bool(merged) and merged[1]["openai_api_key"] == resolve.DEFAULT,
                 default_shares_key=bool(default and default["share_key_with_personal_tokens"]))


def one_query(platform: str, username: str) -> tuple[PreparedQuery, dict]:
    """The statement find_one() runs, for sending ahead together with another (webapp/db/prepared.py)."""
    return _ONE, {"platform": platform, "login_key": username.lower()}


def find_one(platform: str, username: str) -> Found | None:
    row = next(_ONE.rows(one_query(platform, username)[1]), None)
    return derived(row, "found", _shared_found) if row is not None else None


def _shared_found(row: dict) -> Found:
    """_found() for a row that may be kept: the next requests get the same Found, so its values
    cannot be changed (replace() it with a copy instead)."""
    found = _found(row, row)
    return replace(found, values=MappingProxyType(found.values)) if found.values is not None else found


def default_settings() -> Found:
    """The instance default over the built-in values, for callers without settings of their own."""
    row = next(_DEFAULT.rows(), None)
    default = _settings(row, "dflt", _DEFAULT_NAMES) if row else None
    values, sources = resolve.merge(None, default)
    return Found(platform="", login="", user_id=None, active=True, values=values,
                 created_at=row["dflt_created_at"] if row else None, updated_at=row["dflt_updated_at"] if row else None,
                 key_from_default=sources["openai_api_key"] == resolve.DEFAULT,
                 default_shares_key=bool(default and default["share_key_with_personal_tokens"]))


def find_many(pairs: list[tuple[str, str]]) -> dict[tuple[str, str], Found]:
    """Two queries whatever the number of users; keyed by (platform, lower-cased login)."""
    wanted = {(platform, username.lower()) for platform, username in pairs}
    if not wanted:
        return {}
    if len(wanted) > BATCH_MAX:
        raise ValueError(f"at most {BATCH_MAX} users per batch")
    keys = sorted({login for _, login in wanted})
    platforms = sorted({platform for platform, _ in wanted})
    params = {"p0": platforms[0], "p1": platforms[-1], **{f"k{n}": key for n, key in enumerate(keys)}}
    default_row = next(_DEFAULT.rows(), None)
    found = {}
    for row in _many(len(keys)).rows(params):
        key = (row["platform"], row["login_key"])
        if key in wanted:
            found[key] = _found(row, default_row)
    return found
