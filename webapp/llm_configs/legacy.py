"""Import a legacy coding-agent config.yaml (its `llm:` block) into one user's settings."""

from __future__ import annotations

import yaml
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.accounts.logins import check_platform_login, find_by_login
from webapp.accounts.models import Identity, User
from webapp.accounts.service import new_user
from webapp.audit import service as audit
from webapp.db.orm import db
from webapp.errors import ValidationFailed
from webapp.llm_configs import service
from webapp.llm_configs.fields import FIELDS, PROVIDERS


def parse(text: str) -> dict:
    """The YAML document as a dict with an `llm` mapping, or ValidationFailed saying what is wrong."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ValidationFailed(_l("The file is not valid YAML%(where)s.", where=where)) from None
    if not isinstance(document, dict) or not isinstance(document.get("llm"), dict):
        raise ValidationFailed(_l("The file has no `llm:` section."))
    return document


def to_settings(document: dict) -> tuple[dict, str | None]:
    """Map the legacy blocks onto setting names; return (values, api_key)."""
    llm = document["llm"]
    provider = llm.get("provider")
    if provider not in PROVIDERS:
        raise ValidationFailed(_l("Unknown provider %(provider)r in llm.provider: use openai, lmstudio or ollama.",
                                  provider=provider), field="llm.provider")
    values = {"provider": provider, "function_calling": llm.get("function_calling")}
    for field in FIELDS:
        if field.provider is None or field.kind == "secret":
            continue
        block = llm.get(field.provider) or {}
        if not isinstance(block, dict):
            raise ValidationFailed(_l("llm.%(block)s must be a mapping.", block=field.provider),
                                   field=f"llm.{field.provider}")
        values[field.name] = block.get(field.key)
    prompt = document.get("system_prompt", llm.get("system_prompt"))
    values["system_prompt"] = prompt
    values["max_llm_process_num"] = document.get("max_llm_process_num", llm.get("max_llm_process_num"))
    api_key = (llm.get("openai") or {}).get("api_key")
    return values, (str(api_key) if api_key else None)


def import_file(text: str, *, platform: str, username: str) -> tuple[User, bool]:
    """Write the file's settings for platform:username, reserving that login if nobody holds it.

    All or nothing: any bad value raises before a row is written.
    """
    platform, username = check_platform_login(platform, username)
    values, api_key = to_settings(parse(text))
    identity = find_by_login(platform, username)
    created = identity is None
    if created:
        user = new_user(display_name=username)
        user.identities.append(Identity(platform=platform, login=username, login_key=username.lower()))
        db.session.flush()
        audit.record("admin.identity.preprovision", ip="cli", actor_label="cli", target=f"{platform}:{username}")
    else:
        user = db.session.scalar(select(User).where(User.id == identity.user_id))
    try:
        service.save(user, service.Scope(user), values, new_api_key=api_key, ip="cli", audit_label="cli")
    except ValidationFailed:
        db.session.rollback()
        raise
    return user, created
