"""The Organisation page: name and domain, the sites allowed to use the widget, the embed snippet
(copy, rotate the key), and the provider keys answers are written with (masked; add, delete).
Everyone in the organisation sees it; its administrators change it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import DomainError
from webapp.remote_addr import client_ip
from webapp.tenants import service
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm

bp = Blueprint("organisation", __name__)
require_sign_in(bp)


def _page(error: str | None = None, status: int = 200, form: dict | None = None):
    tenant = service.own_tenant(current_user, current_user.tenant_id)
    embed = service.embed(current_user, str(tenant.id), ip=client_ip())
    is_admin = service.administers(current_user)
    keys = service.provider_keys(current_user) if is_admin else []
    return render_template("tenants/page.html", tenant=tenant, embed=embed, keys=keys, is_admin=is_admin,
                           origins=service.allowed_origins(tenant), settings=service.tenant_settings(tenant),
                           error=error, form=form or {}), status


@bp.get("/organisation")
def page():
    return _page()


def _change(action, success: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        action()
    except DomainError as error:
        return _page(str(error.message), 422 if error.status == 400 else error.status, form=request.form)
    flash(success, "success")
    return redirect(url_for(".page"), 303)


@bp.post("/organisation")
def update():
    return _change(lambda: service.update_tenant(current_user, name=request.form.get("name", ""),
                                                 domain=request.form.get("domain", ""), ip=client_ip()),
                   _("Saved."))


@bp.post("/organisation/origins")
def origins():
    return _change(lambda: service.set_allowed_origins(current_user, request.form.get("origins", "").splitlines(),
                                                       ip=client_ip()),
                   _("Saved. The widget works on these sites now."))


@bp.post("/organisation/widget-key")
def rotate():
    return _change(lambda: service.rotate_widget_key(current_user, ip=client_ip()),
                   _("A new widget key is in the snippet below; the old one has stopped working. Put the new snippet "
                     "on your sites."))


@bp.post("/organisation/keys")
def add_key():
    form = request.form
    return _change(lambda: service.add_provider_key(current_user, provider=form.get("provider", ""),
                                                    model=form.get("model", ""), api_key=form.get("api_key", ""),
                                                    base_url=form.get("base_url", ""), ip=client_ip()),
                   _("Key added. Answers use it from now on."))


@bp.post("/organisation/embeddings")
def embeddings():
    model = request.form.get("embedding_model", "")
    return _change(lambda: service.set_embedding_model(current_user, model, ip=client_ip()),
                   _("Saved. Passages get their vectors in the background; the Documents page shows how far it is.")
                   if model.strip() else _("Saved. Passages are found by their words only."))


@bp.post("/organisation/keys/<key_id>/delete")
def delete_key(key_id: str):
    return _change(lambda: service.delete_provider_key(current_user, key_id, ip=client_ip()), _("Key deleted."))

