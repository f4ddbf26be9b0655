"""Admin → Audit log: filter by action, actor, outcome and date; paginate with HTMX."""

from datetime import date

from flask import Blueprint, current_app, request

from webapp.access import admin_only
from webapp.audit import service
from webapp.htmx import render_page_or_fragment

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

admin_only(bp)


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


@bp.get("")
def events():
    args = request.args
    filters = service.AuditFilter(action=args.get("action", "")[:64], actor=args.get("actor", "")[:200],
                                  outcome=args.get("outcome", "") if args.get("outcome") in ("success", "failure") else "",
                                  since=_date(args.get("since")), until=_date(args.get("until")))
    pagination = service.list_events(filters, request.args.get("page", 1, type=int),
                                     current_app.config["ADMIN_PAGE_SIZE"] * 2)
    return render_page_or_fragment("audit/events.html", "audit/_events_table.html", pagination=pagination,
                                   args=args, actions=service.known_actions())
