"""The Billing page: the organisation's plan, and Stripe Checkout for the plans this instance sells."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.accounts.models import Tenant
from webapp.billing import service
from webapp.errors import DomainError
from webapp.remote_addr import client_ip
from webapp.tenants.service import administers, own_tenant
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm

bp = Blueprint("billing", __name__)
require_sign_in(bp)


@bp.get("/billing")
def page():
    tenant: Tenant = own_tenant(current_user, current_user.tenant_id)
    return render_template("billing/page.html", tenant=tenant, enabled=service.enabled(), offered=service.offered(),
                           is_admin=administers(current_user),
                           returned=request.args.get("checkout"))


@bp.post("/billing/checkout")
def checkout():
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        url, _session_id = service.checkout(current_user, request.form.get("plan", ""),
                                            request.form.get("billing_cycle", ""), ip=client_ip())
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(url_for(".page"), 303)
    if not url.startswith("https://") and not url.startswith("http://"):
        flash(_("The payment provider did not give a page to go to. Try again in a minute."), "error")
        return redirect(url_for(".page"), 303)
    return redirect(url, 303)
