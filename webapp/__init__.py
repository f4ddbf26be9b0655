"""AgentDesk: create_app() wires config, extensions, blueprints, error handlers and the CLI."""

from __future__ import annotations

import uuid

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config as config_module
from webapp import logs
from webapp.json_provider import OrjsonProvider


class AgentDesk(Flask):
    json_provider_class = OrjsonProvider


def create_app(overrides: dict | None = None, env: dict | None = None) -> Flask:
    app = AgentDesk(__name__, instance_relative_config=True)
    app.config.update(config_module.load(app.instance_path, env=env, overrides=overrides))
    logs.configure(app.config["LOG_LEVEL"])
    from webapp.sessions import BrowserSessionInterface

    app.session_interface = BrowserSessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    register_extensions(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_context(app)
    register_cli(app)
    return app


def register_extensions(app: Flask) -> None:
    from webapp import models, sqlite  # noqa: F401  (every model for Alembic; SQLite pragmas)
    from webapp import crypto
    from webapp.audit import sink as audit_sink
    from webapp.accounts import oauth as oauth_views
    from webapp.extensions import babel, csrf, db, limiter, login_manager, migrate
    from webapp.i18n import select_locale

    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", _migrations_dir())))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    _skip_browser_limiter_for_machine_calls(app)
    oauth_views.init_app(app)
    crypto.init_app(app)
    audit_sink.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"

    from flask_babel import lazy_gettext as _l

    login_manager.login_message = _l("Please sign in to see this page.")

    @login_manager.user_loader
    def load_user(user_id: str):
        from webapp.accounts.models import User

        try:
            user = db.session.get(User, uuid.UUID(user_id))
        except ValueError:
            return None
        # A deactivated user is signed out on their next request, remember-me cookie or not.
        return user if user is not None and user.active else None


def _skip_browser_limiter_for_machine_calls(app: Flask) -> None:
    """Flask-Limiter guards the sign-in pages; machine calls have their own per-token limits
    (api/machine.py). Its request filter only runs after it has resolved the route's limits, so
    wrap its before-request hook to return at once on the hot path."""
    from webapp.api.machine import is_machine_request
    from webapp.extensions import limiter

    hooks = app.before_request_funcs.setdefault(None, [])
    for index, hook in enumerate(hooks):
        if getattr(hook, "__self__", None) is limiter:
            def guarded(hook=hook):
                if not is_machine_request():
                    return hook()
            hooks[index] = guarded


def _migrations_dir():
    from pathlib import Path

    return Path(__file__).resolve().parent.parent / "migrations"


def register_blueprints(app: Flask) -> None:
    from webapp.accounts.oauth import bp as oauth_bp
    from webapp.accounts.views import bp as auth_bp
    from webapp.admin.views import bp as admin_bp
    from webapp.api.health import bp as health_bp
    from webapp.api.llm import bp as api_llm_bp
    from webapp.api.metrics import bp as metrics_bp
    from webapp.api.openapi import bp as openapi_bp
    from webapp.audit.views import bp as audit_bp
    from webapp.dashboard.views import bp as dashboard_bp
    from webapp.llm_configs.views import bp as llm_settings_bp
    from webapp.tokens.views import bp as tokens_bp

    for bp in (auth_bp, oauth_bp, dashboard_bp, admin_bp, audit_bp, health_bp, api_llm_bp,
               llm_settings_bp, tokens_bp, metrics_bp, openapi_bp):
        app.register_blueprint(bp)


def register_error_handlers(app: Flask) -> None:
    from webapp.error_pages import init_app

    init_app(app)


def register_template_context(app: Flask) -> None:
    from flask_babel import get_locale

    from webapp.assets import ASSETS, asset_url
    from webapp.security import add_security_headers

    app.after_request(add_security_headers)

    @app.context_processor
    def inject():
        return {"asset_url": asset_url, "assets": ASSETS, "current_locale": str(get_locale()),
                "languages": app.config["LANGUAGES"]}


def register_cli(app: Flask) -> None:
    from webapp.cli import keys_cli, llm_config_cli, tokens_cli, users_cli

    for group in (users_cli, tokens_cli, keys_cli, llm_config_cli):
        app.cli.add_command(group)
