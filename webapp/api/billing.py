"""Spec 001 §3.7: Stripe Checkout for a plan (organisation administrators), and the webhook Stripe
calls with the result (signed with STRIPE_WEBHOOK_SECRET; no credential of ours)."""

from __future__ import annotations

from typing import Literal

from flask import current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from webapp.api.contents import acting_person
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.billing import service
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.credentials import PUBLIC
from webapp.machine.declarations import Reply, body_limit, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import parse_body
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip

TAGS = ("Billing (spec 001)",)
bp = MachineBlueprint("api_billing", __name__, family=RAG, credentials=[PERSON_OR_AGENT], rate_limits="API_RATE_LIMITS")
hooks = MachineBlueprint("api_billing_webhook", __name__, family=RAG, credentials=[PUBLIC],
                         anonymous_limits="WEBHOOK_RATE_LIMIT")


class CheckoutRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    plan: Literal["PRO", "ENTERPRISE"] = Field(examples=["PRO"])
    billing_cycle: Literal["MONTHLY", "YEARLY"] = Field(default="MONTHLY")


class CheckoutSession(BaseModel):
    url: str = Field(description="Stripe Checkout's page: send the person there")
    session_id: str


class Received(BaseModel):
    received: bool


@bp.post("/api/v1/billing/checkout")
@requires()
@operation("Start paying for a plan (organisation administrators)", "createCheckout", body=CheckoutRequest, tags=TAGS,
           responses={200: Reply("The Checkout Session", CheckoutSession)},
           errors={400: "VALIDATION_ERROR: a plan or cycle this instance does not sell",
                   403: "PERMISSION_DENIED: not an administrator of the organisation",
                   502: "PAYMENT_PROVIDER_ERROR: Stripe did not answer properly",
                   503: "BILLING_NOT_CONFIGURED: this instance takes no payments"})
def create_checkout():
    data = parse_body(CheckoutRequest, 'Expected {"plan": "PRO", "billing_cycle": "MONTHLY"}.')
    url, session_id = service.checkout(acting_person(administering=True), data.plan, data.billing_cycle,
                                       ip=client_ip())
    current_call().target = f"checkout {session_id[:60]}"
    return jsonify(url=url, session_id=session_id)


@hooks.post("/api/v1/billing/webhook")
@requires()
@body_limit(512 * 1024)
@operation("Stripe's events (signed)", "stripeWebhook", tags=TAGS, responses={200: Reply("Applied", Received)},
           errors={400: "INVALID_SIGNATURE: the Stripe-Signature header does not match",
                   503: "BILLING_NOT_CONFIGURED: no STRIPE_WEBHOOK_SECRET"})
def stripe_webhook():
    outcome = service.handle_webhook(request.get_data(), request.headers.get("Stripe-Signature", ""))
    current_app.logger.info("stripe webhook: %s", outcome)
    return jsonify(received=True)
