"""GitHub and GitLab sign-in over OAuth 2 (Authlib): authorization code with state and PKCE."""

from __future__ import annotations

from authlib.common.errors import AuthlibBaseError
from authlib.integrations.flask_client import OAuth
from flask import Blueprint, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from requests import RequestException

from webapp.accounts.identities import ProviderProfile, record_failed_sign_in, sign_in_with_provider
from webapp.accounts.logins import PLATFORM_NAMES
from webapp.accounts.sessions import start_session
from webapp.errors import DomainError
from webapp.extensions import limiter
from webapp.remote_addr import client_ip
from webapp.web.redirects import safe_next

bp = Blueprint("oauth", __name__, url_prefix="/auth")

LINK_FLAG = "oauth_link"
NEXT_KEY = "oauth_next"
TIMEOUT_SECONDS = 10


def init_app(app) -> None:
    """Register each configured provider with an Authlib registry of this app's own.

    Authlib caches clients on the registry, so one registry per app keeps each app's URLs.
    """
    registry = app.extensions["agentdesk.oauth"] = OAuth(app)
    for settings in app.config["OAUTH_PROVIDERS"].values():
        if not settings.configured:
            continue
        registry.register(
            settings.name,
            client_id=settings.client_id,
            client_secret=settings.client_secret,
            authorize_url=settings.authorize_url,
            access_token_url=settings.access_token_url,
            api_base_url=settings.api_base_url,
            client_kwargs={"scope": settings.scope, "code_challenge_method": "S256", "timeout": TIMEOUT_SECONDS},
        )


def _client(platform: str):
    settings = current_app.config["OAUTH_PROVIDERS"].get(platform)
    if settings is None or not settings.configured:
        abort(404)
    return current_app.extensions["agentdesk.oauth"].create_client(platform)


def _profile(platform: str, client, token) -> ProviderProfile:
    response = client.get("user", token=token)
    response.raise_for_status()
    data = response.json()
    login = data.get("login") if platform == "github" else data.get("username")
    if not data.get("id") or not login:
        raise ValueError("provider user endpoint returned no id/login")
    email = str(data.get("email") or "")
    return ProviderProfile(platform=platform, provider_user_id=str(data["id"])[:64], login=str(login)[:255],
                           name=str(data.get("name") or "")[:200], email=email if len(email) <= 320 else "")


@bp.get("/<platform>/login")
@limiter.limit(lambda: current_app.config["AUTH_RATE_LIMIT"])
def oauth_login(platform: str):
    client = _client(platform)
    session.pop(LINK_FLAG, None)
    session[NEXT_KEY] = safe_next(request.args.get("next"), "")
    return client.authorize_redirect(url_for(".oauth_callback", platform=platform, _external=True))


@bp.get("/<platform>/link")
@login_required
def oauth_link(platform: str):
    client = _client(platform)
    session[LINK_FLAG] = True
    return client.authorize_redirect(url_for(".oauth_callback", platform=platform, _external=True))


class SignInFailed(Exception):
    """The provider did not give us a profile; `reason` is for the audit log, the message for the person."""

    def __init__(self, message: str, reason: str):
        super().__init__(message)
        self.message, self.reason = message, reason


def _provider_error_message(name: str, error: str) -> str:
    """A fixed message per OAuth error code: the provider's error_description is attacker-chosen text."""
    if error == "access_denied":
        return _("You declined the sign-in at %(platform)s.", platform=name)
    if error in ("server_error", "temporarily_unavailable"):
        return _("%(platform)s could not sign you in right now. Please try again in a moment.", platform=name)
    return _("%(platform)s did not sign you in. Please try again.", platform=name)


def _fetch_profile(platform: str, client) -> ProviderProfile:
    """The callback's authorization code exchanged for the provider's profile, or SignInFailed."""
    name = PLATFORM_NAMES[platform]
    if request.args.get("error"):
        raise SignInFailed(_provider_error_message(name, request.args["error"]), "provider_error")
    try:
        return _profile(platform, client, client.authorize_access_token())
    except AuthlibBaseError as error:
        if error.error == "mismatching_state":
            raise SignInFailed(_("The sign-in request expired or did not come from this browser. Please try again."),
                               error.error) from None
        raise SignInFailed(_("%(platform)s refused the sign-in (%(error)s). Please try again.", platform=name,
                             error=error.error), error.error) from None
    except (RequestException, ValueError):
        current_app.logger.warning("oauth %s: provider unreachable or answered badly", platform, exc_info=True)
        raise SignInFailed(_("Could not reach %(platform)s. Please try again in a moment.", platform=name),
                           "provider_unreachable") from None


@bp.get("/<platform>/callback")
@limiter.limit(lambda: current_app.config["AUTH_RATE_LIMIT"])
def oauth_callback(platform: str):
    client = _client(platform)
    linking = bool(session.pop(LINK_FLAG, False)) and current_user.is_authenticated
    back = url_for("dashboard.index") if linking else url_for("auth.login")
    try:
        profile = _fetch_profile(platform, client)
        user = sign_in_with_provider(profile, ip=client_ip(), admin_users=current_app.config["ADMIN_USERS"],
                                     link_to=current_user._get_current_object() if linking else None,
                                     registration_open=current_app.config["REGISTRATION_OPEN"])
    except SignInFailed as failed:
        record_failed_sign_in(platform, failed.reason, ip=client_ip(), error=request.args.get("error", "")[:100])
        flash(failed.message, "error")
        return redirect(back)
    except DomainError as error:
        flash(str(error.message), "error")
        return redirect(back)
    if linking:
        flash(_("%(platform)s account %(login)s is now linked.", platform=PLATFORM_NAMES[platform],
                login=profile.login), "success")
        return redirect(back)
    target = session.pop(NEXT_KEY, "")
    start_session(user)
    return redirect(safe_next(target, url_for("dashboard.index")))
