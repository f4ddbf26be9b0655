"""Admin → Audit log: filter by action, actor, outcome and date; paginate with HTMX."""

import csv
from datetime import date, datetime, timezone

from flask import Blueprint, Response, current_app, request, stream_with_context

from webapp.audit import service
from webapp.audit.labels import action_label
from webapp.web.access import admin_only
from webapp.web.htmx import render_page_or_fragment
from webapp.web.query import int_arg, kept_args

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")

admin_only(bp)
FILTERS = ("action", "actor", "token", "outcome", "since", "until")
MAX_PAGE = 100_000


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _filters() -> service.AuditFilter:
    args = request.args
    return service.AuditFilter(action=args.get("action", "")[:64], actor=args.get("actor", "")[:200],
                               outcome=args.get("outcome", "") if args.get("outcome") in ("success", "failure") else "",
                               token_id=int_arg("token"), since=_date(args.get("since")),
                               until=_date(args.get("until")))


@bp.get("")
def events():
    pagination = service.list_events(_filters(), int_arg("page", default=1, high=MAX_PAGE),
                                     current_app.config["ADMIN_PAGE_SIZE"] * 2)
    return render_page_or_fragment("audit/events.html", "audit/_events_table.html", pagination=pagination,
                                   args=request.args, query=kept_args(*FILTERS), actions=service.known_actions(),
                                   tokens=service.token_choices(), action_label=action_label)


class _Line:
    """A file-like sink that hands back what csv.writer wrote, one row at a time."""

    def write(self, value: str) -> str:
        return value


@bp.get("/export.csv")
def export_csv():
    writer = csv.writer(_Line())
    rows = (writer.writerow(row) for row in service.export_rows(_filters()))
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return Response(stream_with_context(rows), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="agentdesk-audit-{stamp}.csv"'})
