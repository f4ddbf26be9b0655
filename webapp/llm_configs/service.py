"""Edit LLM settings: a user's own, or (admins) the instance default. Keys are encrypted here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.db.crypto import ENCRYPTED_COLUMNS, box, mask_secret
from webapp.db.orm import db
from webapp.errors import Forbidden, ValidationFailed
from webapp.llm_configs import providers, resolve
from webapp.llm_configs.fields import BY_NAME, FIELDS, KEY_HOST_FIELD, PROVIDERS
from webapp.llm_configs.models import DEFAULT_SCOPE, LLMConfig, scope_key_for

URL_RE = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
# An address without a scheme ("localhost:1234", as spec 000 writes LM Studio's): the local
# servers' fields (LM Studio, Ollama) accept it, and it means plain http. OpenAI's base URL carries
# a key, so it names its scheme: a key never goes out over http by accident.
HOST_PORT_RE = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}(/\S*)?$")
INT_RANGES = {
    "max_llm_process_num": (1, 100_000),
    "openai_max_token": (1, 10_000_000),
    "lmstudio_context_length": (1, 10_000_000),
    "ollama_max_token": (1, 10_000_000),
}
KEYED_ADDRESSES = ("openai_base_url",)  # addresses a provider key is sent to
MAX_LENGTHS = {"system_prompt": 100_000, "openai_api_key": 500, "openai_model": 100, "lmstudio_model": 100,
               "ollama_model": 100, "openai_base_url": 300, "lmstudio_base_url": 300, "ollama_endpoint": 300}


@dataclass(frozen=True)
class Scope:
    """Whose settings: a user's (user set) or the instance default (user None)."""

    user: User | None

    @property
    def key(self) -> str:
        return DEFAULT_SCOPE if self.user is None else scope_key_for(self.user.id)


def _authorize(actor: User, scope: Scope) -> None:
    if scope.user is None and not actor.is_admin:
        raise Forbidden(_l("Only administrators can do this."))
    if scope.user is not None and scope.user.id != actor.id:
        raise Forbidden(_l("You can only change your own settings."))


def load(scope: Scope) -> LLMConfig | None:
    return db.session.scalar(select(LLMConfig).where(LLMConfig.scope_key == scope.key))


def row_values(row: LLMConfig | None) -> dict | None:
    """The row's settings, and the URL its key was saved for (which inheritance needs)."""
    if row is None:
        return None
    return {**{f.name: getattr(row, f.name) for f in FIELDS}, "openai_key_url": row.openai_key_url}


@dataclass(frozen=True)
class SettingsView:
    """What the settings page shows: own values, the effective result and where each came from."""

    own: dict
    values: dict
    sources: dict
    fallback: dict  # what each field would be if this scope left it blank
    masked_key: str
    inherited_key: bool
    key_withheld: bool  # a key is saved, but for another address than the one in effect now
    share_key: bool  # instance default: personal tokens may read its key
    updated_at: object


def view(scope: Scope) -> SettingsView:
    row = load(scope)
    own = row_values(row) or {f.name: None for f in FIELDS}
    default = None if scope.user is None else row_values(load(Scope(None)))
    values, sources = resolve.merge(own, default)
    fallback = resolve.inherited(default)
    secret = values["openai_api_key"]
    return SettingsView(own=own, values=values, sources=sources, fallback=fallback,
                        masked_key=mask_secret(box().decrypt(secret)) if secret else "",
                        inherited_key=sources["openai_api_key"] == resolve.DEFAULT,
                        key_withheld=sources["openai_api_key"] == resolve.WITHHELD,
                        share_key=bool(row and row.share_key_with_personal_tokens),
                        updated_at=row.updated_at if row else None)


def _clean(name: str, raw) -> object:
    """Validate one submitted value; None (blank) means inherit."""
    field = BY_NAME[name]
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        return None
    if field.kind == "choice":
        if raw not in PROVIDERS:
            raise ValidationFailed(_l("Choose openai, lmstudio or ollama."), field=name)
        return raw
    if field.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).strip().lower() in ("true", "false"):
            return str(raw).strip().lower() == "true"
        raise ValidationFailed(_l("Use true or false."), field=name)
    if field.kind == "int":
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValidationFailed(_l("Enter a whole number."), field=name) from None
        low, high = INT_RANGES[name]
        if not low <= value <= high:
            raise ValidationFailed(_l("Enter a number from %(low)s to %(high)s.", low=low, high=high), field=name)
        return value
    value = str(raw).strip()
    limit = MAX_LENGTHS.get(name, 500)
    if len(value) > limit:
        raise ValidationFailed(_l("Use at most %(limit)s characters.", limit=limit), field=name)
    if field.kind == "url" and name in KEYED_ADDRESSES and not URL_RE.fullmatch(value):
        raise ValidationFailed(_l("Enter a URL starting with https:// (or http:// for a server on your network)."),
                               field=name)
    if field.kind == "url" and not (URL_RE.fullmatch(value) or HOST_PORT_RE.fullmatch(value)):
        raise ValidationFailed(_l("Enter an address like http://localhost:11434 or localhost:1234."), field=name)
    return value


def save(actor: User, scope: Scope, data: dict, *, new_api_key: str | None = None, clear_api_key: bool = False,
         share_key: bool | None = None, ip: str, audit_label: str | None = None) -> LLMConfig:
    """Write the submitted fields (blank = inherit; absent = unchanged); raise ValidationFailed naming
    the field at fault.

    A new key is bound to the base URL in effect once saved; keeping a saved key while that URL
    changes (here, or by clearing it to inherit another) is refused: the key must be entered again.
    `share_key` (the instance default only): may personal tokens read the default's key.
    """
    _authorize(actor, scope)
    errors, cleaned = {}, {}
    new_api_key = (new_api_key or "").strip() or None
    # A field that was not submitted keeps its value: the page shows one provider's fields at a
    # time, and switching provider must not wipe what was set for the others.
    submitted = {name: data[name] for name in BY_NAME if BY_NAME[name].kind != "secret" and name in data}
    submitted["openai_api_key"] = new_api_key
    for name, raw in submitted.items():
        try:
            cleaned[name] = _clean(name, raw)
        except ValidationFailed as error:
            errors[name] = error.message
    cleaned.pop("openai_api_key", None)
    row = load(scope) or LLMConfig(scope_key=scope.key, user_id=scope.user.id if scope.user else None)
    before = row_values(row) if row.id else {}
    default = None if scope.user is None else row_values(load(Scope(None)))
    after = {**{name: (before or {}).get(name) for name in BY_NAME if BY_NAME[name].kind != "secret"}, **cleaned}
    key_url = resolve.merge(after, default)[0]["openai_base_url"]
    if (row.openai_api_key and new_api_key is None and not clear_api_key and "openai_base_url" not in errors
            and resolve.origin(row.openai_key_url) != resolve.origin(key_url)):
        errors["openai_api_key"] = _l("The address changed: enter the API key again (a saved key is only "
                                      "ever sent to the address it was saved for), or remove it.")
    if errors:
        first = next(iter(errors))
        raise ValidationFailed(errors[first], field=first, details={"fields": errors})
    for name, value in cleaned.items():
        setattr(row, name, value)
    if clear_api_key:
        row.openai_api_key = row.openai_key_url = None
    elif new_api_key is not None:
        row.openai_api_key, row.openai_key_url = box().encrypt(new_api_key), key_url
    changed = sorted(n for n in BY_NAME if (before or {}).get(n) != getattr(row, n))
    if scope.user is None and share_key is not None and bool(row.share_key_with_personal_tokens) != share_key:
        row.share_key_with_personal_tokens = share_key
        changed.append("share_key_with_personal_tokens")
    row.updated_by = actor.id
    db.session.add(row)
    audit.record("llm_config.update", ip=ip, actor=None if audit_label else actor, actor_label=audit_label,
                 target=_target(scope), details={"fields": changed})
    db.session.commit()
    return row


def reset_field(actor: User, scope: Scope, name: str, *, ip: str) -> None:
    """Drop one of the user's own values so the instance default applies again."""
    _authorize(actor, scope)
    if name not in BY_NAME:
        raise ValidationFailed(_l("Unknown setting."), field=name)
    row = load(scope)
    if row is None or getattr(row, name) is None:
        return
    setattr(row, name, None)
    if name in KEY_HOST_FIELD.values():  # the key was bound to that address
        row.openai_api_key = row.openai_key_url = None
    audit.record("llm_config.reset", ip=ip, actor=actor, target=_target(scope), details={"fields": [name]})
    db.session.commit()


def _target(scope: Scope) -> str:
    return "instance default" if scope.user is None else audit.actor_label_for(scope.user)


def rotate_secrets() -> int:
    """`flask keys rotate`: re-encrypt every stored key under the newest ENCRYPTION_KEYS entry."""
    secret_box, count = box(), 0
    for model, attribute in ENCRYPTED_COLUMNS:
        column = getattr(model, attribute)
        for row in db.session.scalars(select(model).where(column.isnot(None), column != "")):
            setattr(row, attribute, secret_box.rotate(getattr(row, attribute)))
            count += 1
    audit.record("keys.rotate", ip="cli", actor_label="cli", details={"secrets": count})
    db.session.commit()
    return count


def test_connection(actor: User, scope: Scope, data: dict, *, limits: providers.Limits,
                    new_api_key: str | None = None) -> providers.Probe:
    """Probe the provider with the submitted (unsaved) values; the stored key only goes to its own origin."""
    _authorize(actor, scope)
    current = view(scope)
    provider = data.get("provider") or current.values["provider"] or "openai"
    address_field = {"openai": "openai_base_url", "lmstudio": "lmstudio_base_url", "ollama": "ollama_endpoint"}[
        provider if provider in PROVIDERS else "openai"]
    address = (data.get(address_field) or "").strip() or current.values[address_field] or ""
    key = (new_api_key or "").strip()
    saved = current.values["openai_api_key"]
    if provider == "openai" and not key and saved and resolve.origin(address) == resolve.origin(
            current.values["openai_base_url"]):
        key = box().decrypt(saved)
    return providers.list_models(provider, address, key, limits)


def instance_target() -> providers.Target | None:
    """The instance default's provider as somewhere to ask (the code review's LLM pass), or None
    when the default names no provider or no model."""
    return target_of(Scope(None))


def system_prompt_of(scope: Scope) -> str:
    return view(scope).values.get("system_prompt") or ""


def target_of(scope: Scope) -> providers.Target | None:
    """The provider a person's settings (their own over the instance default) name, as somewhere to
    ask (the workspace's built-in agent), or None when no provider or no model is in effect."""
    values = view(scope).values
    provider = values.get("provider")
    if provider not in PROVIDERS:
        return None
    address = values[{"openai": "openai_base_url", "lmstudio": "lmstudio_base_url", "ollama": "ollama_endpoint"}[provider]]
    model = values.get(f"{provider}_model") or ""
    if not address or not model:
        return None
    secret = values["openai_api_key"] if provider == "openai" else None
    return providers.Target(provider, address, model, box().decrypt(secret) if secret else "")
