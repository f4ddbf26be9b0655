"""A person's workspace settings (spec 004 §2.4): stored in the person's preferences, every field
filled from the defaults; a partial update validated field by field."""

from __future__ import annotations

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.workspace.service import invalid

FONT_SIZES = (8, 32)
TIMEOUTS = (10, 3600)  # seconds an agent may run for one message
DEFAULTS = {"fontSize": 14, "enableSounds": False, "autoSave": True,
            "amazonQSettings": {"trustAllTools": False, "timeout": 300, "model": "", "agent": ""}}


def agent_choices() -> dict[str, str]:
    """The agents a person may choose (amazonQSettings.agent, our addition to spec 004's settings):
    "" the instance's own, "builtin", and AGENT_CHOICES; name -> label."""
    return {"": str(_l("The server's agent")), "builtin": str(_l("Built-in agent")),
            **{name: entry["label"] for name, entry in current_app.config["AGENT_CHOICES"].items()}}


def settings_of(person: User) -> dict:
    """The person's workspace settings, every field filled (theme is the site's own light/dark;
    following the device reads as light)."""
    from webapp.accounts.service import theme_of

    stored = (person.preferences or {}).get("workspace") or {}
    agent = {**DEFAULTS["amazonQSettings"], **(stored.get("amazonQSettings") or {})}
    return {"theme": theme_of(person) or "light", **{k: stored.get(k, v) for k, v in DEFAULTS.items()
                                                     if k != "amazonQSettings"}, "amazonQSettings": agent}


def _number(value, field: str, bounds: tuple[int, int]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not bounds[0] <= value <= bounds[1]:
        raise invalid(_l("%(field)s is a whole number from %(low)s to %(high)s.", field=field, low=bounds[0],
                          high=bounds[1]), field)
    return value


def _flag(value, field: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(_l("%(field)s is true or false.", field=field), field)
    return value


def update_settings(person: User, changes: dict) -> dict:
    """A partial update: only the fields sent change; an unknown field or a wrong value is a 400 that
    names it, and then nothing changes."""
    from webapp.accounts.service import THEMES, set_theme

    if not isinstance(changes, dict):
        raise invalid(_l("Send the settings to change as a JSON object."), "body")
    current = settings_of(person)
    stored = {k: v for k, v in current.items() if k != "theme"}
    for field, value in changes.items():
        if field == "theme":
            if value not in THEMES:
                raise invalid(_l("theme is light or dark."), "theme")
        elif field == "fontSize":
            stored[field] = _number(value, field, FONT_SIZES)
        elif field in ("enableSounds", "autoSave"):
            stored[field] = _flag(value, field)
        elif field == "amazonQSettings":
            if not isinstance(value, dict):
                raise invalid(_l("amazonQSettings is an object."), field)
            agent = dict(stored[field])
            for name, setting in value.items():
                path = f"amazonQSettings.{name}"
                if name == "trustAllTools":
                    agent[name] = _flag(setting, path)
                elif name == "timeout":
                    agent[name] = _number(setting, path, TIMEOUTS)
                elif name == "agent":
                    if not isinstance(setting, str) or setting not in agent_choices():
                        raise invalid(_l("%(field)s is one of: %(names)s.", field=path,
                                          names=", ".join(repr(n) for n in agent_choices())), path)
                    agent[name] = setting
                elif name == "model":
                    if not isinstance(setting, str) or len(setting) > 100 or not setting.isprintable():
                        raise invalid(_l("%(field)s is a model name of at most 100 characters.", field=path), path)
                    agent[name] = setting.strip()
                else:
                    raise invalid(_l("%(field)s is not a setting.", field=path), path)
            stored[field] = agent
        else:
            raise invalid(_l("%(field)s is not a setting.", field=str(field)[:50]), str(field)[:50])
    person.preferences = {**(person.preferences or {}), "workspace": stored}
    if "theme" in changes:
        set_theme(person, changes["theme"])  # commits
    db.session.commit()
    return settings_of(person)
