"""What the home page tells a person: can agents find and use their settings, what did agents
ask for lately, which of their tokens run out soon."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.llm_configs import service as llm
from webapp.tokens import service as tokens

# How the person's settings look to an agent.
COMPLETE, INHERITING, MISSING_KEY, MISSING_PROVIDER = "complete", "inheriting", "missing_key", "missing_provider"


@dataclass(frozen=True)
class Home:
    findable: bool  # a GitHub/GitLab login links to this account: agents can ask for it
    settings: str
    provider: str | None
    recent_calls: list
    expiring_tokens: list


def settings_status(view: llm.SettingsView) -> str:
    provider = view.values.get("provider")
    if not provider:
        return MISSING_PROVIDER
    if provider == "openai" and (not view.values.get("openai_api_key") or view.key_withheld):
        return MISSING_KEY
    if all(value in (None, "") for value in view.own.values()):
        return INHERITING
    return COMPLETE


def home_for(user: User) -> Home:
    view = llm.view(llm.Scope(user))
    return Home(findable=bool(user.identities), settings=settings_status(view), provider=view.values.get("provider"),
                recent_calls=audit.recent_agent_calls([identity.user_key for identity in user.identities]),
                expiring_tokens=tokens.expiring_tokens(user))
