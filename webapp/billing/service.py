"""Billing through Stripe (spec 001 §3.7).

A tenant administrator asks for a plan and a cycle; Stripe Checkout takes the payment on its own
page, and Stripe's signed webhook tells us the result: `checkout.session.completed` (paid) moves the
tenant to the plan, `customer.subscription.deleted` of that very subscription back to FREE; a tenant
that pays already is sent to change its subscription rather than start a second one. The plan never
changes on the strength of a browser coming back from Checkout. Without STRIPE_SECRET_KEY billing is
off and says so.
"""

from __future__ import annotations

import json
import uuid

from flask import current_app
from flask_babel import lazy_gettext as _l

from webapp.accounts.models import Tenant, User
from webapp.audit import service as audit
from webapp.db.orm import db
from webapp.errors import BadRequest, Conflict, DomainError
from webapp.tenants.service import admin_of

PLANS = ("FREE", "PRO", "ENTERPRISE")
PAID = ("PRO", "ENTERPRISE")
CYCLES = ("MONTHLY", "YEARLY")
STRIPE_TIMEOUT = 15  # seconds per request to Stripe


class BillingOff(DomainError):
    """Billing is off on this instance (no Stripe settings): the service is unavailable here."""

    status = 503
    code = "BILLING_NOT_CONFIGURED"


class PaymentProviderFailed(DomainError):
    status = 502
    code = "PAYMENT_PROVIDER_ERROR"


def enabled() -> bool:
    return bool(current_app.config["STRIPE_SECRET_KEY"])


def price_of(plan: str, cycle: str) -> str | None:
    return current_app.config["STRIPE_PRICES"].get(f"{plan}_{cycle}")


def offered() -> list[tuple[str, str]]:
    """The (plan, cycle) pairs this instance sells: those with a Stripe price."""
    return [(plan, cycle) for plan in PAID for cycle in CYCLES if price_of(plan, cycle)]


def _client():
    import stripe

    config = current_app.config
    return stripe.StripeClient(config["STRIPE_SECRET_KEY"], base_addresses={"api": config["STRIPE_API_BASE"]},
                               max_network_retries=1, http_client=stripe.RequestsClient(timeout=STRIPE_TIMEOUT))


def checkout(actor: User, plan: str, cycle: str, *, ip: str | None = None) -> tuple[str, str]:
    """A Stripe Checkout Session for the actor's tenant: (its URL, its id)."""
    import stripe

    admin_of(actor)
    if not enabled():
        raise BillingOff(_l("Billing is not set up on this instance (STRIPE_SECRET_KEY)."))
    plan, cycle = plan.upper(), cycle.upper()
    price = price_of(plan, cycle) if plan in PAID and cycle in CYCLES else None
    if price is None:
        choices = ", ".join(f"{p}/{c}" for p, c in offered()) or "-"
        raise BadRequest(_l("That plan and cycle are not offered; choose one of: %(choices)s.", choices=choices),
                         code="VALIDATION_ERROR", field="plan")
    tenant = db.session.get(Tenant, actor.tenant_id)
    if (tenant.settings or {}).get("billing", {}).get("subscription") and tenant.plan in PAID:
        raise Conflict(_l("Your organisation already pays for %(plan)s; change or cancel that subscription in "
                          "Stripe first.", plan=tenant.plan), field="plan")
    public = current_app.config["PUBLIC_URL"]
    metadata = {"tenant_id": str(tenant.id), "plan": plan, "billing_cycle": cycle}
    params = {"mode": "subscription", "line_items": [{"price": price, "quantity": 1}],
              "success_url": f"{public}/billing?checkout=success", "cancel_url": f"{public}/billing?checkout=cancelled",
              "client_reference_id": str(tenant.id), "metadata": metadata, "subscription_data": {"metadata": metadata}}
    if actor.email:
        params["customer_email"] = actor.email
    try:
        session = _client().v1.checkout.sessions.create(params=params)
    except stripe.StripeError as error:
        current_app.logger.warning("Stripe checkout failed: %s (HTTP %s)", error.__class__.__name__,
                                   getattr(error, "http_status", None))
        raise PaymentProviderFailed(_l("The payment provider could not start the checkout; try again in a minute."))\
            from None
    audit.record("billing.checkout", ip=ip, actor=actor, target=f"tenant {tenant.id}",
                 details={"plan": plan, "billing_cycle": cycle, "session": session.id})
    db.session.commit()
    return session.url, session.id


def handle_webhook(payload: bytes, signature: str) -> str:
    """Apply a signed Stripe event; returns what was done (for the log). A bad signature is a 400."""
    import stripe

    secret = current_app.config["STRIPE_WEBHOOK_SECRET"]
    if not secret:
        raise BillingOff(_l("Billing is not set up on this instance (STRIPE_WEBHOOK_SECRET)."))
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8"), signature, secret,
                                              stripe.Webhook.DEFAULT_TOLERANCE)
        event = json.loads(payload)
    except (ValueError, stripe.SignatureVerificationError):  # UnicodeDecodeError and bad JSON are ValueErrors
        raise BadRequest("The Stripe-Signature header does not match the payload.", code="INVALID_SIGNATURE") \
            from None
    try:
        kind, thing = str(event["type"]), dict(event["data"]["object"])
        metadata = dict(thing.get("metadata") or {})
    except (KeyError, TypeError, ValueError):
        return "not an event with data.object: ignored"
    tenant = _tenant(metadata.get("tenant_id"))
    if tenant is None:
        return f"{kind}: no tenant"
    paid = thing.get("payment_status") in ("paid", "no_payment_required")
    current = ((tenant.settings or {}).get("billing") or {}).get("subscription")
    if kind == "checkout.session.completed" and metadata.get("plan") in PAID and paid:
        tenant.plan, tenant.status = metadata["plan"], "ACTIVE"
        tenant.settings = {**(tenant.settings or {}), "billing": {
            "customer": thing.get("customer"), "subscription": thing.get("subscription"),
            "billing_cycle": metadata.get("billing_cycle")}}
    elif kind == "customer.subscription.deleted" and current and thing.get("id") == current:
        tenant.plan = "FREE"
        tenant.settings = {k: v for k, v in (tenant.settings or {}).items() if k != "billing"}
    else:
        return f"{kind}: ignored"
    audit.record("billing.plan", ip="stripe", actor_label="stripe", target=f"tenant {tenant.id}",
                 details={"event": str(event.get("id", ""))[:100], "type": kind, "plan": tenant.plan})
    db.session.commit()
    return f"{kind}: tenant {tenant.id} on {tenant.plan}"


def _tenant(value) -> Tenant | None:
    try:
        return db.session.get(Tenant, uuid.UUID(str(value)))
    except ValueError:
        return None
