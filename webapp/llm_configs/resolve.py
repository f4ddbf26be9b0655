"""Field-by-field inheritance and spec 000's JSON shape: pure functions over plain dicts."""

from __future__ import annotations

from datetime import datetime

from webapp.llm_configs.fields import COMMON, FIELDS, KEY_HOST_FIELD, PROVIDERS, provider_fields

USER, DEFAULT, BUILTIN = "user", "default", "builtin"


def merge(own: dict | None, default: dict | None) -> tuple[dict, dict]:
    """Merge a user's row over the instance default over built-in values: (values, sources).

    A stored key is inherited only together with the host it was saved for: a user who points
    base_url elsewhere does not get the default's key.
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
        if sources[key_field] == DEFAULT and sources[host_field] == USER:
            values[key_field], sources[key_field] = "", BUILTIN
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
