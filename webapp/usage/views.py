"""The Usage page: the organisation's tokens and cost by day, week or month (a chart, a table) and
the same numbers as CSV."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone

from flask import Blueprint, Response, render_template, request
from flask_login import current_user

from webapp.usage import service
from webapp.web.access import require_sign_in

bp = Blueprint("usage", __name__)
require_sign_in(bp)
RANGES = {"day": (30, 90), "week": (26, 52), "month": (12, 24)}  # periods shown: the default and the longer view


def _period() -> tuple[str, int, list]:
    granularity = request.args.get("granularity", "day")
    if granularity not in RANGES:
        granularity = "day"
    count = RANGES[granularity][1] if request.args.get("longer") else RANGES[granularity][0]
    end = datetime.now(timezone.utc).date()
    days = {"day": count, "week": count * 7, "month": count * 31}[granularity]
    start = service.bucket_start(end - timedelta(days=days - 1), granularity)
    return granularity, count, service.tenant_usage(current_user.tenant_id, start, end, granularity)


@bp.get("/usage")
def page():
    granularity, count, rows = _period()
    chart = {"labels": [b.isoformat() for b, *_ in rows], "tokens": [r[1] for r in rows],
             "cost": [r[2] for r in rows]}
    return render_template("usage/page.html", rows=rows, chart=chart, granularity=granularity,
                           longer=bool(request.args.get("longer")), total_tokens=sum(r[1] for r in rows),
                           total_cost=sum(r[2] for r in rows), total_requests=sum(r[3] for r in rows))


@bp.get("/usage.csv")
def csv_export():
    granularity, _, rows = _period()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["period_start", "tokens", "cost_usd", "requests"])
    for bucket, tokens, cost, requests_ in rows:
        writer.writerow([bucket.isoformat(), tokens, f"{cost:.6f}", requests_])
    name = f"usage-{granularity}-{datetime.now(timezone.utc):%Y%m%d}.csv"
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",  # the BOM: Excel reads it as UTF-8
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
