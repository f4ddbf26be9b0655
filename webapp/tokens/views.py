"""Token pages: people manage personal tokens, admins mint service tokens and see every token."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from webapp.errors import DomainError
from webapp.remote_addr import client_ip
from webapp.tokens import service
from webapp.tokens.forms import TokenForm
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm
from webapp.web.htmx import is_fragment_request, render_page_or_fragment

bp = Blueprint("tokens", __name__)
PAGES = {"personal": "/settings/tokens", "service": "/admin/tokens"}


require_sign_in(bp, admin_when=lambda: (request.view_args or {}).get("kind") == "service")
def _render(kind: str, form: TokenForm, status: int = 200, created: str | None = None):
    tokens = service.visible_tokens(current_user, kind=kind)
    return render_page_or_fragment("tokens/page.html", "tokens/_panel.html", status, kind=kind, form=form,
                                   tokens=tokens, created=created, scopes=service.SCOPES)


def tokens_page(kind: str):
    return _render(kind, TokenForm(formdata=None))


def create(kind: str):
    form = TokenForm()
    if form.validate_on_submit():
        try:
            _, raw = service.create_token(current_user, kind=kind, name=form.name.data, expires_in_days=form.days,
                                          ip=client_ip())
        except DomainError as error:
            form.add_domain_error(error)
        else:
            # Shown in this response only: never stored, never redirected through a URL.
            return _render(kind, TokenForm(formdata=None), 201 if is_fragment_request() else 200, created=raw)
    return _render(kind, form, 422)


def revoke(kind: str, token_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.revoke_token(current_user, token_id, ip=client_ip())
    except DomainError:
        abort(404)
    if not is_fragment_request():
        return redirect(url_for(".page", kind=kind))
    return _render(kind, TokenForm(formdata=None))


# One endpoint per action, one URL per kind: url_for(".page", kind=kind) picks the rule by its default.
for kind, base in PAGES.items():
    defaults = {"kind": kind}
    bp.add_url_rule(base, "page", tokens_page, defaults=defaults)
    bp.add_url_rule(base, "create", create, methods=["POST"], defaults=defaults)
    bp.add_url_rule(f"{base}/<int:token_id>/revoke", "revoke", revoke, methods=["POST"], defaults=defaults)
