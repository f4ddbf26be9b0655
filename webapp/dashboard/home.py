"""What the home page tells a person: can agents find and use their settings, what did agents
ask for lately and what are they working on, which of their tokens run out soon."""

from __future__ import annotations

from dataclasses import dataclass

from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.audit import service as audit
from webapp.llm_configs import service as llm
from webapp.tasks import queries as task_queries
from webapp.tasks.access import Actor
from webapp.tokens import service as tokens
from webapp.usage_keys import service as usage_keys

RECENT_TASKS = 5
# How the person's settings look to an agent.
COMPLETE, INHERITING, MISSING_KEY, MISSING_PROVIDER = "complete", "inheriting", "missing_key", "missing_provider"


@dataclass(frozen=True)
class Activity:
    """The admin's week: agent calls, failures and accounts per UTC day."""

    days: list[str]  # ISO dates, oldest first
    calls: list[int]
    errors: list[int]
    users: list[int]  # accounts at the end of each day

    @property
    def chart(self) -> dict:
        return {"days": self.days, "calls": self.calls, "errors": self.errors, "users": self.users}


def activity(days: int = 7) -> Activity:
    counts = audit.api_calls_by_day(days)
    ends = audit.day_starts(days)[1:]
    return Activity(days=[day.isoformat() for day, _, _ in counts], calls=[calls for _, calls, _ in counts],
                    errors=[errors for _, _, errors in counts], users=accounts.users_by_day(ends))


@dataclass(frozen=True)
class Home:
    findable: bool  # a GitHub/GitLab login links to this account: agents can ask for it
    settings: str
    provider: str | None
    recent_calls: list
    expiring_tokens: list
    tasks: list  # the latest tasks agents do for this person
    pending_usage_keys: int | None  # admins: usage-key requests waiting for a decision
    usage_keys: list  # the person's own usage-key requests and keys (spec 003)


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
                expiring_tokens=tokens.expiring_tokens(user),
                tasks=task_queries.list_tasks(Actor.of_user(user), task_queries.TaskFilter(user=str(user.id)),
                                              limit=RECENT_TASKS).items,
                pending_usage_keys=usage_keys.pending_count() if user.is_admin else None,
                usage_keys=usage_keys.requests_of(user))
