"""Spec 001 §3.6: the organisation's token use and cost over time, by day, week or month."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field

from webapp.api.contents import acting_person
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.errors import BadRequest
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import parse_query
from webapp.usage import service as usage

TAGS = ("Usage (spec 001)",)
DEFAULT_DAYS = 30
FIRST_YEAR, LAST_YEAR = 2000, 2100  # usage is recorded in between; dates far outside overflow date arithmetic
bp = MachineBlueprint("api_stats", __name__, family=RAG, credentials=[PERSON_OR_AGENT], rate_limits="API_RATE_LIMITS")


class UsageQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    start_date: str | None = Field(default=None, max_length=40, description="ISO 8601 date or date-time (UTC); "
                                   "default: 29 days before end_date")
    end_date: str | None = Field(default=None, max_length=40, description="ISO 8601; default: today (UTC)")
    granularity: Literal["day", "week", "month"] = "day"


class UsageBucket(BaseModel):
    date: str = Field(description="The first day of the day, week (Monday) or month")
    tokens: int
    cost: float
    requests: int = Field(description="An addition to spec 001: answers counted in the bucket")


class UsageStats(BaseModel):
    total_tokens: int
    total_cost: float = Field(description="US dollars, from MODEL_PRICES")
    by_date: list[UsageBucket]


def _day(value: str | None, name: str) -> date | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRequest(f"{name}: '{value[:40]}' is not an ISO 8601 date such as 2025-01-31.",
                         code="VALIDATION_ERROR", details={"field": name}) from None
    if not FIRST_YEAR <= moment.year <= LAST_YEAR:
        raise BadRequest(f"{name}: give a date between {FIRST_YEAR} and {LAST_YEAR}.", code="VALIDATION_ERROR",
                         details={"field": name})
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc)
    return moment.date()


@bp.get("/api/v1/stats/usage")
@requires()
@operation("The organisation's tokens and cost by day, week or month", "getUsageStats", query=UsageQuery, tags=TAGS,
           responses={200: Reply("Totals and one entry per period, empty periods included", UsageStats)},
           errors={400: "VALIDATION_ERROR: a date is not ISO 8601, start_date is after end_date, or the range "
                        "has too many periods", 403: "PERMISSION_DENIED: a credential of no one"})
def usage_stats():
    query = parse_query(UsageQuery)
    end = _day(query.end_date, "end_date") or datetime.now(timezone.utc).date()
    start = _day(query.start_date, "start_date") or end - timedelta(days=DEFAULT_DAYS - 1)
    if start > end:
        raise BadRequest("start_date is after end_date.", code="VALIDATION_ERROR", details={"field": "start_date"})
    if usage.bucket_count(start, end, query.granularity) > usage.MAX_BUCKETS[query.granularity]:
        raise BadRequest(f"At most {usage.MAX_BUCKETS[query.granularity]} {query.granularity}s at once; "
                         "narrow the dates or choose a coarser granularity.", code="VALIDATION_ERROR",
                         details={"field": "start_date"})
    rows = usage.tenant_usage(acting_person().tenant_id, start, end, query.granularity)
    return jsonify(total_tokens=sum(r[1] for r in rows), total_cost=round(sum(r[2] for r in rows), 6),
                   by_date=[{"date": b.isoformat(), "tokens": t, "cost": c, "requests": n} for b, t, c, n in rows])
