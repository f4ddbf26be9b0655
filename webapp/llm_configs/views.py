"""My LLM settings and (admins) the instance default: one set of views over two scopes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from webapp.errors import DomainError
from webapp.extensions import limiter
from webapp.llm_configs import agents, service
from webapp.llm_configs.fields import PROVIDERS, provider_fields
from webapp.llm_configs.forms import LABELS, LLMSettingsForm
from webapp.llm_configs.providers import Limits
from webapp.remote_addr import client_ip
from webapp.web.access import require_sign_in
from webapp.web.forms import ActionForm
from webapp.web.htmx import is_fragment_request, render_page_or_fragment

bp = Blueprint("llm_settings", __name__)
SCOPES = {"mine": "/settings/llm", "default": "/admin/llm-default"}


require_sign_in(bp, admin_when=lambda: (request.view_args or {}).get("scope") == "default")


def _scope(scope: str) -> service.Scope:
    return service.Scope(None if scope == "default" else current_user._get_current_object())


def _render(scope: str, form: LLMSettingsForm, settings: service.SettingsView, status: int = 200, *,
            fragment: str = "llm_configs/_form.html", **extra):
    provider = form.provider.data or settings.values["provider"] or "openai"
    context = dict(form=form, settings=settings, scope=scope, provider=provider, labels=LABELS,
                   fields=provider_fields(provider),
                   previews=agents.previews(current_user) if scope == "mine" else [], **extra)
    return render_page_or_fragment("llm_configs/page.html", fragment, status, **context)


def _filled_form(settings: service.SettingsView) -> LLMSettingsForm:
    form = LLMSettingsForm(formdata=None)
    form.fill_from(settings.own)
    form.share_key_with_personal_tokens.data = settings.share_key
    return form


def settings_page(scope: str):
    settings = service.view(_scope(scope))
    return _render(scope, _filled_form(settings), settings)


def save(scope: str):
    form = LLMSettingsForm()
    if form.validate_on_submit():
        try:
            service.save(current_user, _scope(scope), form.service_data(), new_api_key=form.openai_api_key.data,
                         clear_api_key=form.clear_api_key.data, ip=client_ip(),
                         share_key=form.share_key_choice() if scope == "default" else None)
        except DomainError as error:
            form.add_domain_error(error)
        else:
            if not is_fragment_request():
                flash(_("Settings saved."), "success")
                return redirect(request.path)
            settings = service.view(_scope(scope))
            return _render(scope, _filled_form(settings), settings, notice=_("Settings saved."))
    return _render(scope, form, service.view(_scope(scope)), 422)


def provider_fields_fragment(scope: str):
    """The provider-specific fieldset, swapped in when the provider select changes."""
    settings = service.view(_scope(scope))
    form = _filled_form(settings)
    provider = request.args.get("provider", "")
    form.provider.data = provider if provider in PROVIDERS else ""
    return _render(scope, form, settings, fragment="llm_configs/_provider_fields.html")


def test_connection(scope: str):
    form = LLMSettingsForm()
    if not form.validate_on_submit():
        abort(400)
    config = current_app.config
    limits = Limits(deadline=config["PROBE_DEADLINE_SECONDS"], max_in_flight=config["PROBE_MAX_IN_FLIGHT"],
                    allow_private=config["OUTBOUND_ALLOW_PRIVATE"])
    probe = service.test_connection(current_user, _scope(scope), form.service_data(), limits=limits,
                                    new_api_key=form.openai_api_key.data)
    return render_template("llm_configs/_probe.html", probe=probe)


def reset_field(scope: str, name: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        service.reset_field(current_user, _scope(scope), name, ip=client_ip())
    except DomainError:
        abort(404)
    if not is_fragment_request():
        return redirect(url_for(".page", scope=scope))
    return settings_page(scope)


limited_test_connection = limiter.limit("10/minute")(test_connection)

# One endpoint per action, one URL per scope: url_for(".save", scope=scope) picks the rule whose
# default matches, so no endpoint name is ever assembled from strings.
for scope, base in SCOPES.items():
    defaults = {"scope": scope}
    bp.add_url_rule(base, "page", settings_page, defaults=defaults)
    bp.add_url_rule(base, "save", save, methods=["POST"], defaults=defaults)
    bp.add_url_rule(f"{base}/provider-fields", "fields", provider_fields_fragment, defaults=defaults)
    bp.add_url_rule(f"{base}/test", "test", limited_test_connection, methods=["POST"], defaults=defaults)
    bp.add_url_rule(f"{base}/reset/<name>", "reset", reset_field, methods=["POST"], defaults=defaults)
