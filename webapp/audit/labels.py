"""What each audit action means, in words a person reads (the code stays in the CSV and filters)."""

from flask_babel import lazy_gettext as _l

ACTION_LABELS = {
    "api.get_llm_config": _l("Agent read LLM settings"),
    "api.batch_llm_configs": _l("Agent read settings of several users"),
    "api.legacy_config": _l("Agent read settings (legacy format)"),
    "api.refused": _l("API calls refused"),
    "auth.login": _l("Signed in"),
    "auth.logout": _l("Signed out"),
    "auth.register": _l("Created an account"),
    "auth.password.change": _l("Changed password"),
    "auth.sessions.revoke": _l("Signed out everywhere"),
    "auth.token.issue": _l("API client signed in"),
    "auth.token.refresh": _l("API client renewed its sign-in"),
    "auth.identity.linked": _l("Linked a GitHub/GitLab login"),
    "auth.identity.claimed": _l("Claimed a reserved login"),
    "auth.identity.renamed": _l("Login renamed at the provider"),
    "admin.identity.preprovision": _l("Reserved a login"),
    "admin.identity.attach": _l("Attached a login to a user"),
    "admin.identity.detach": _l("Detached a login from a user"),
    "admin.user.create": _l("Created a user"),
    "admin.user.activate": _l("Reactivated a user"),
    "admin.user.deactivate": _l("Deactivated a user"),
    "admin.user.grant_admin": _l("Made a user administrator"),
    "admin.user.revoke_admin": _l("Revoked administrator rights"),
    "llm_config.update": _l("Changed LLM settings"),
    "llm_config.reset": _l("Reset an LLM setting to default"),
    "keys.rotate": _l("Re-encrypted stored keys"),
    "task.auto_fix": _l("Created an auto-fix task"),
    "api.create_task": _l("Agent created a task"),
    "api.update_status": _l("Agent changed a task's status"),
    "api.update_progress": _l("Agent reported progress"),
    "api.send_logs": _l("Agent sent task logs"),
    "api.send_metrics": _l("Agent sent task metrics"),
    "api.report_error": _l("Agent reported a task error"),
    "api.create_auto_fix": _l("Agent created an auto-fix task"),
    "api.list_tasks": _l("Agent listed tasks"),
    "api.get_task": _l("Agent read a task"),
    "api.list_logs": _l("Agent read task logs"),
    "token.create": _l("Created a token"),
    "token.revoke": _l("Revoked a token"),
}


def action_label(action: str) -> str:
    """The person's words for an action; an action without a label shows as its code."""
    label = ACTION_LABELS.get(action)
    return str(label) if label is not None else action
