"""Field-by-field inheritance and spec 000's JSON shape: pure functions over plain dicts."""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import urlsplit

from webapp.llm_configs.fields import COMMON, FIELDS, KEY_HOST_FIELD, PROVIDERS, provider_fields

USER, DEFAULT, BUILTIN = "user", "default", "builtin"
WITHHELD = "withheld"  # a key saved for another origin than the one now in effect


@functools.lru_cache(maxsize=1024)  # the same few URLs, on every agent call
def origin(url: str | None) -> str:
    """scheme://host:port of a URL, lower-cased: what a key is bound to."""
    url = (url or "").strip()
    parts = urlsplit(url if "://" in url else f"http://{url}")
    try:
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme.lower())
    except ValueError:  # not a valid port: compare the text as it is
        return f"{parts.scheme}://{parts.netloc}".lower()
    return f"{parts.scheme.lower()}://{(parts.hostname or '').lower()}:{port}"


def merge(own: dict | None, default: dict | None) -> tuple[dict, dict]:
    """Merge a user's row over the instance default over built-in values: (values, sources).

    A stored key is served only with the origin it was saved for (`<provider>_key_url` of the row
    it comes from): if the base URL in effect now points anywhere else (the user's own change, or
    the admin's change of a default the user inherits), the key is withheld.
    """
    own, default = own or {}, default or {}
    values, sources = {}, {}
    for field in FIELDS:
        if own.get(field.name) is not None:
            values[field.name], sources[field.name] = own[field.name], USER
        elif default.get(field.name) is not None:
            values[field.name], sources[field.name] = default[field.name], DEFAULT
        else:
            values[field.name], sources[field.name] = field.builtin, BUILTIN
    for provider, host_field in KEY_HOST_FIELD.items():
        key_field = f"{provider}_api_key"
        source = sources[key_field]
        if source in (USER, DEFAULT):
            saved_for = (own if source == USER else default).get(f"{provider}_key_url")
            if origin(saved_for) != origin(values[host_field]):
                values[key_field], sources[key_field] = "", WITHHELD
    return values, sources


def effective(own: dict | None, default: dict | None) -> tuple[dict, dict] | None:
    """merge(), or None when no provider is set anywhere (the API's CONFIG_NOT_FOUND)."""
    values, sources = merge(own, default)
    return (values, sources) if values["provider"] in PROVIDERS else None


def inherited(default: dict | None) -> dict:
    """What each field is when a user leaves it blank: the instance default's value, else built-in."""
    default = default or {}
    return {f.name: default[f.name] if default.get(f.name) is not None else f.builtin for f in FIELDS}


def llm_config_json(values: dict, reveal_secret) -> dict:
    """The `llm_config` object: the active provider's block filled in, the others null."""
    provider = values["provider"]
    body = {"provider": provider, "function_calling": bool(values["function_calling"])}
    for name in PROVIDERS:
        if name != provider:
            body[name] = None
            continue
        block = {}
        for field in provider_fields(name):
            value = values[field.name]
            block[field.key] = reveal_secret(value) if field.kind == "secret" else value
        body[name] = block
    return body


@functools.lru_cache(maxsize=4096)  # kept rows bring the same moments again and again
def iso(moment: datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ") if moment else None


def user_config_json(platform: str, login: str, values: dict, reveal_secret, *, include_system_prompt: bool,
                     created_at: datetime | None, updated_at: datetime | None) -> dict:
    """spec 000 §3.3.1 `data`."""
    data = {
        "user_id": f"{platform}:{login}",
        "platform": platform,
        "username": login,
        "llm_config": llm_config_json(values, reveal_secret),
    }
    if include_system_prompt:
        data["system_prompt"] = values["system_prompt"] or ""
    data["max_llm_process_num"] = values["max_llm_process_num"]
    data["created_at"] = iso(created_at)
    data["updated_at"] = iso(updated_at)
    return data


__all__ = ["COMMON", "effective", "llm_config_json", "user_config_json", "USER", "DEFAULT", "BUILTIN"]
