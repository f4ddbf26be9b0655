"""How a task's status reads on a page, in words and colour (the codes stay spec 002's)."""

from flask_babel import lazy_gettext as _l

STATUS_LABELS = {"QUEUED": _l("Queued"), "PROCESSING": _l("Running"), "COMPLETED": _l("Completed"),
                 "FAILED": _l("Failed")}
STATUS_TONES = {"QUEUED": "info", "PROCESSING": "warn", "COMPLETED": "ok", "FAILED": "off"}


def status_context() -> dict:
    """What templates/tasks/_macros.html needs to draw status badges, in the page's language."""
    return {"status_labels": {code: str(label) for code, label in STATUS_LABELS.items()},
            "status_tones": STATUS_TONES}
