"""Spec 001 §3.6 and §3.7: usage statistics summed by the database, and Stripe Checkout against a
local server that speaks Stripe's API, with the plan changed only by Stripe's signed webhook."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

import pytest

from tests.fake_stripe import FakeStripe
from tests.test_rag_chat import Tenant, set_person
from webapp import create_app
from webapp.accounts.models import Tenant as TenantRow
from webapp.db.orm import db
from webapp.usage.models import UsageEvent

WEBHOOK_SECRET = "whsec_test_secret"
PRICES = '{"PRO_MONTHLY": "price_pro_m", "PRO_YEARLY": "price_pro_y"}'


@pytest.fixture(scope="module")
def stripe_server():
    with FakeStripe() as server:
        yield server


@pytest.fixture
def billing(app_env, stripe_server):
    stripe_server.sessions.clear()
    app = create_app(env={**app_env, "STRIPE_SECRET_KEY": stripe_server.secret_key, "STRIPE_API_BASE": stripe_server.url,
                          "STRIPE_PRICES": PRICES, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
                          "PUBLIC_URL": "https://desk.example.com"})
    return app, Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")


def signed(payload: dict, secret=WEBHOOK_SECRET, at=None) -> tuple[bytes, str]:
    """Stripe's signature scheme: t=<unix time>,v1=HMAC-SHA256(secret, "<t>.<body>")."""
    body = json.dumps(payload).encode()
    stamp = int(at or time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={mac}"


def event(kind: str, tenant_id, *, id="cs_1", payment_status=None, subscription=None, **metadata) -> dict:
    thing = {"object": "checkout.session", "id": id, "metadata": {"tenant_id": str(tenant_id), **metadata}}
    thing.update({k: v for k, v in (("payment_status", payment_status), ("subscription", subscription)) if v})
    return {"id": "evt_1", "object": "event", "type": kind, "api_version": "2024-06-20", "data": {"object": thing}}


def plan_of(app, tenant_id) -> str:
    with app.app_context():
        return db.session.get(TenantRow, tenant_id).plan


def test_checkout_goes_to_stripe_and_the_plan_waits_for_its_signed_word(billing, stripe_server):
    app, tenant = billing
    answer = tenant.client.post("/api/v1/billing/checkout", headers=tenant.headers,
                                json={"plan": "PRO", "billing_cycle": "MONTHLY"})
    assert answer.status_code == 200, answer.json
    assert answer.json["url"].startswith("https://checkout.stripe.com/") and answer.json["session_id"].startswith("cs_")
    [sent] = stripe_server.sessions
    assert (sent["mode"], sent["line_items[0][price]"], sent["metadata[tenant_id]"]) == (
        "subscription", "price_pro_m", str(tenant.id))
    assert sent["success_url"] == "https://desk.example.com/billing?checkout=success"
    assert plan_of(app, tenant.id) == "FREE"  # nothing changes until Stripe says so

    unpaid_body, unpaid = signed(event("checkout.session.completed", tenant.id, plan="PRO", payment_status="unpaid",
                                       subscription="sub_1"))
    tenant.client.post("/api/v1/billing/webhook", data=unpaid_body, content_type="application/json",
                       headers={"Stripe-Signature": unpaid})
    assert plan_of(app, tenant.id) == "FREE"  # not paid (yet)
    body, signature = signed(event("checkout.session.completed", tenant.id, plan="PRO", billing_cycle="MONTHLY",
                                   payment_status="paid", subscription="sub_1"))
    forged = tenant.client.post("/api/v1/billing/webhook", data=body, content_type="application/json",
                                headers={"Stripe-Signature": signature.replace("v1=", "v1=0")})
    assert forged.status_code == 400 and forged.json["error_code"] == "INVALID_SIGNATURE"
    stale_body, stale = signed(event("checkout.session.completed", tenant.id, plan="PRO", payment_status="paid"),
                               at=time.time() - 3600)
    assert tenant.client.post("/api/v1/billing/webhook", data=stale_body, content_type="application/json",
                              headers={"Stripe-Signature": stale}).status_code == 400
    assert plan_of(app, tenant.id) == "FREE"

    applied = tenant.client.post("/api/v1/billing/webhook", data=body, content_type="application/json",
                                 headers={"Stripe-Signature": signature})
    assert applied.status_code == 200 and applied.json == {"received": True}
    assert plan_of(app, tenant.id) == "PRO"
    again = tenant.client.post("/api/v1/billing/checkout", headers=tenant.headers, json={"plan": "PRO"})
    assert again.status_code == 409 and len(stripe_server.sessions) == 1  # no second subscription
    for subscription in ("sub_old", "sub_1"):  # another subscription's end changes nothing; its own does
        body, signature = signed(event("customer.subscription.deleted", tenant.id, id=subscription))
        tenant.client.post("/api/v1/billing/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": signature})
        assert plan_of(app, tenant.id) == ("PRO" if subscription == "sub_old" else "FREE")


@pytest.mark.parametrize("body, status, code", [
    ({"plan": "ENTERPRISE", "billing_cycle": "MONTHLY"}, 400, "VALIDATION_ERROR"),  # no price for it
    ({"plan": "FREE"}, 400, "VALIDATION_ERROR"),
    ({"plan": "PRO", "billing_cycle": "WEEKLY"}, 400, "VALIDATION_ERROR"),
    ({}, 400, "VALIDATION_ERROR"),
])
def test_plans_not_sold_are_refused(billing, stripe_server, body, status, code):
    _, tenant = billing
    answer = tenant.client.post("/api/v1/billing/checkout", headers=tenant.headers, json=body)
    assert (answer.status_code, answer.json["error_code"]) == (status, code)
    assert stripe_server.sessions == []


def test_only_administrators_pay_and_stripe_failures_are_clear(billing, stripe_server, app_env):
    app, tenant = billing
    member = Tenant(app, tenant.client, "m@example.com", "member_m", "Company M")
    set_person(app, "m@example.com", tenant_id=tenant.id)
    checkout = {"plan": "PRO", "billing_cycle": "YEARLY"}
    assert tenant.client.post("/api/v1/billing/checkout", headers=member.headers, json=checkout).status_code == 403
    stripe_server.fail_next = True
    failed = tenant.client.post("/api/v1/billing/checkout", headers=tenant.headers, json=checkout)
    assert failed.status_code in (200, 502)  # the library retries once; a second failure would be a 502
    wrong_key = create_app(env={**app_env, "STRIPE_SECRET_KEY": "sk_test_wrong", "STRIPE_API_BASE": stripe_server.url,
                                "STRIPE_PRICES": PRICES})
    refused = wrong_key.test_client().post("/api/v1/billing/checkout", headers=tenant.headers, json=checkout)
    assert refused.status_code == 502 and refused.json["error_code"] == "PAYMENT_PROVIDER_ERROR"
    assert "sk_test" not in refused.get_data(as_text=True)
    off = create_app(env=app_env).test_client().post("/api/v1/billing/checkout", headers=tenant.headers, json=checkout)
    assert off.status_code == 503 and off.json["error_code"] == "BILLING_NOT_CONFIGURED"


def add_usage(app, tenant_id, when: datetime, tokens_in: int, tokens_out: int, cost: float, kind="chat"):
    with app.app_context():
        db.session.add(UsageEvent(kind=kind, tenant_id=tenant_id, tokens_in=tokens_in, tokens_out=tokens_out,
                                  cost=cost, created_at=when))
        db.session.commit()


def test_usage_is_summed_by_day_week_and_month_for_the_callers_organisation_only(app_env):
    app = create_app(env=app_env)
    client = app.test_client()
    mine = Tenant(app, client, "admin@example.com", "admin_a", "Company A")
    theirs = Tenant(app, client, "b@example.com", "user_b", "Company B")
    utc = timezone.utc
    add_usage(app, mine.id, datetime(2025, 1, 6, 23, 59, tzinfo=utc), 100, 50, 0.5)  # Monday
    add_usage(app, mine.id, datetime(2025, 1, 7, 0, 1, tzinfo=utc), 10, 5, 0.25)
    add_usage(app, mine.id, datetime(2025, 1, 7, 12, 0, tzinfo=utc), 1, 1, 0.0, kind="widget")
    add_usage(app, mine.id, datetime(2025, 2, 3, 9, 0, tzinfo=utc), 1000, 0, 1.0)
    add_usage(app, theirs.id, datetime(2025, 1, 7, 9, 0, tzinfo=utc), 99999, 0, 99.0)

    def stats(**query):
        answer = client.get("/api/v1/stats/usage", headers=mine.headers, query_string=query)
        assert answer.status_code == 200, answer.json
        return answer.json

    daily = stats(start_date="2025-01-05", end_date="2025-01-08")
    assert daily["by_date"] == [
        {"date": "2025-01-05", "tokens": 0, "cost": 0.0, "requests": 0},
        {"date": "2025-01-06", "tokens": 150, "cost": 0.5, "requests": 1},
        {"date": "2025-01-07", "tokens": 17, "cost": 0.25, "requests": 2},
        {"date": "2025-01-08", "tokens": 0, "cost": 0.0, "requests": 0}]
    assert (daily["total_tokens"], daily["total_cost"]) == (167, 0.75)
    weekly = stats(start_date="2025-01-01", end_date="2025-02-09T10:00:00+09:00", granularity="week")
    assert [(b["date"], b["tokens"]) for b in weekly["by_date"]] == [
        ("2024-12-30", 0), ("2025-01-06", 167), ("2025-01-13", 0), ("2025-01-20", 0), ("2025-01-27", 0),
        ("2025-02-03", 1000)]
    monthly = stats(start_date="2025-01-01", end_date="2025-03-31", granularity="month")
    assert [(b["date"], b["tokens"], b["cost"]) for b in monthly["by_date"]] == [
        ("2025-01-01", 167, 0.75), ("2025-02-01", 1000, 1.0), ("2025-03-01", 0, 0.0)]
    today = datetime.now(utc).date()
    default = stats()
    assert len(default["by_date"]) == 30 and default["by_date"][-1]["date"] == today.isoformat()


@pytest.mark.parametrize("query", [
    {"start_date": "yesterday"}, {"end_date": "2025-13-01"}, {"start_date": "2025-02-01", "end_date": "2025-01-01"},
    {"start_date": "2000-01-01", "end_date": "2025-01-01"}, {"granularity": "hour"},
])
def test_bad_ranges_are_400s(app_env, query):
    app = create_app(env=app_env)
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    answer = tenant.client.get("/api/v1/stats/usage", headers=tenant.headers, query_string=query)
    assert answer.status_code == 400 and answer.json["error_code"] == "VALIDATION_ERROR", answer.json


@pytest.mark.parametrize("payload", [[], "text", {"type": "checkout.session.completed"}, {"data": {"object": 5}},
                                     {"type": "checkout.session.completed", "data": {"object": {"metadata": "x"}}},
                                     {"type": "x", "data": {"object": {"metadata": {"tenant_id": "not-a-uuid"}}}}])
def test_signed_but_strange_events_do_no_harm(billing, payload):
    app, tenant = billing
    body, signature = signed(payload)
    answer = tenant.client.post("/api/v1/billing/webhook", data=body, content_type="application/json",
                                headers={"Stripe-Signature": signature})
    assert answer.status_code in (200, 400), answer.json
    assert plan_of(app, tenant.id) == "FREE"


@pytest.mark.parametrize("query", [
    {"end_date": "0001-01-01"}, {"start_date": "0001-01-01T00:00+05:00"}, {"end_date": "9999-12-31"},
    {"start_date": "0001-01-01", "end_date": "9999-12-31", "granularity": "month"},
])
def test_dates_far_out_are_400s_not_overflows(app_env, query):
    app = create_app(env=app_env)
    tenant = Tenant(app, app.test_client(), "admin@example.com", "admin_a", "Company A")
    answer = tenant.client.get("/api/v1/stats/usage", headers=tenant.headers, query_string=query)
    assert answer.status_code == 400 and answer.json["error_code"] == "VALIDATION_ERROR", answer.json
