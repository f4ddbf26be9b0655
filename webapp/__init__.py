"""AgentDesk: create_app() wires config, extensions, blueprints, error handlers and the CLI."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_babel import get_locale
from flask_socketio import SocketIO
from gevent import monkey
from werkzeug.middleware.proxy_fix import ProxyFix

from webapp import config as config_module
from webapp import (
    logs,
    models,  # noqa: F401  (every model, for Alembic and relationships)
)
from webapp.accounts import oauth
from webapp.accounts import service as accounts
from webapp.accounts.cli import users_cli
from webapp.accounts.oauth import bp as oauth_bp
from webapp.accounts.views import bp as auth_bp
from webapp.accounts.views import first_visit_or_sign_in
from webapp.admin.views import bp as admin_bp
from webapp.api import auth as api_auth
from webapp.api.docs import bp as api_docs_bp
from webapp.api.llm import bp as api_llm_bp
from webapp.api.operations import bp as operations_bp
from webapp.api.operations import metrics_bp, tasks_health_bp
from webapp.api import review as api_review
from webapp.api import api_keys as api_keys_api
from webapp.api import billing as api_billing
from webapp.api import chats as api_chats
from webapp.api import contents as api_contents
from webapp.api import stats as api_stats
from webapp.api import tenants as api_tenants
from webapp.api import workspace as api_workspace
from webapp.api.tasks import bp as api_tasks_bp
from webapp.audit import service as audit
from webapp.audit.views import bp as audit_bp
from webapp.dashboard.theme import current_theme
from webapp.dashboard.views import bp as dashboard_bp
from webapp.db import crypto, prepared, read_cache, sqlite, writer  # noqa: F401  (sqlite: pragmas on connect)
from webapp.db.orm import db
from webapp.extensions import babel, csrf, limiter, login_manager, mail, migrate
from webapp.json_provider import BoundedRequest, OrjsonProvider
from webapp.live import codec as live_codec
from webapp.live import events as live_events
from webapp.llm_configs.cli import keys_cli, llm_config_cli
from webapp.llm_configs.views import bp as llm_settings_bp
from webapp import jobs
from webapp.mail.views import bp as mail_bp
from webapp.review.views import bp as review_bp
from webapp.usage_keys.cli import usage_keys_cli
from webapp.usage_keys.views import bp as usage_keys_bp
from webapp.machine import registry as machine_registry
from webapp.machine.blueprint import bump_generation
from webapp.tasks.cli import tasks_cli
from webapp.tasks.views import bp as tasks_bp
from webapp.tokens.cli import tokens_cli
from webapp.tokens.views import bp as tokens_bp
from webapp.documents.views import bp as documents_bp
from webapp.chats.views import bp as chats_bp
from webapp.tenants.views import bp as organisation_bp
from webapp.usage.views import bp as usage_bp
from webapp.workspace.views import bp as workspace_bp
from webapp.billing.views import bp as billing_bp
from webapp.web import browser_hooks, error_pages, input_guard
from webapp.web.assets import ASSETS, asset_tag, asset_url
from webapp.web.navigation import navigation
from webapp.web.cookie_session import BrowserSessionInterface
from webapp.web.headers import add_security_headers
from webapp.web.i18n import ago, select_locale

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"
BLUEPRINTS = (auth_bp, oauth_bp, dashboard_bp, admin_bp, audit_bp, llm_settings_bp, tokens_bp, tasks_bp, api_docs_bp,
              operations_bp, metrics_bp, tasks_health_bp, api_llm_bp, api_auth.public, api_auth.signed_in, api_tasks_bp,
              usage_keys_bp, mail_bp, review_bp, api_review.requests_bp, api_review.reviews_bp, api_contents.bp,
              api_contents.uploads, api_chats.bp, api_chats.widget, api_keys_api.bp, api_tenants.bp,
              api_stats.bp, api_billing.bp, api_billing.hooks, documents_bp, chats_bp, organisation_bp, usage_bp,
              billing_bp, api_workspace.public, api_workspace.bp, workspace_bp)


class AgentDesk(Flask):
    json_provider_class = OrjsonProvider
    request_class = BoundedRequest

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._sync_funcs: dict = {}

    def ensure_sync(self, func):
        """Flask asks inspect whether each hook and view is a coroutine, on every request; the answer
        never changes, so it is remembered (a dozen lookups on the agents' hot path)."""
        try:
            return self._sync_funcs[func]
        except KeyError:
            synced = super().ensure_sync(func)
            if len(self._sync_funcs) < 10_000:  # hooks, views and handlers: a fixed set
                self._sync_funcs[func] = synced
            return synced
        except TypeError:  # an unhashable callable
            return super().ensure_sync(func)


def create_app(overrides: dict | None = None, env: dict | None = None) -> Flask:
    app = AgentDesk(__name__, instance_relative_config=True)
    app.config.update(config_module.load(app.instance_path, env=env, overrides=overrides))
    logs.configure(app.config["LOG_LEVEL"])
    app.session_interface = BrowserSessionInterface()
    if app.config["TRUSTED_PROXIES"]:
        n = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    register_extensions(app)
    machine_registry.init_app(app, record_call=audit.record_detached, record_refused=audit.record_refused,
                              together=prepared.together)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    error_pages.init_app(app)
    register_template_context(app)
    for group in (users_cli, tokens_cli, keys_cli, llm_config_cli, tasks_cli, usage_keys_cli):
        app.cli.add_command(group)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(app.config.get("MIGRATIONS_DIR", MIGRATIONS)))
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    input_guard.init_app(app)
    oauth.init_app(app)
    crypto.init_app(app)
    prepared.init_app(app)
    writer.init_app(app)
    login_manager.init_app(app)
    mail.init_app(app)
    jobs.init_app(app)
    login_manager.unauthorized_handler(first_visit_or_sign_in)
    login_manager.session_protection = "basic"
    login_manager.user_loader(accounts.load_session_user)
    browser_hooks.skip_machine_requests(app)  # after the limiter's, login manager's and CSRF's init_app
    socketio = SocketIO()
    live_events.register(socketio)
    socketio.init_app(app, async_mode=_async_mode(), message_queue=app.config["SOCKETIO_MESSAGE_QUEUE"] or None,
                      ping_interval=30, json=live_codec)  # spec 004 §3.3: ping/pong every 30 seconds
    app.wsgi_app = _socketio_under_its_path_only(app.wsgi_app)
    read_cache.watch_commits(bump_generation)


def _socketio_under_its_path_only(middleware):
    """Flask-SocketIO's middleware copies the WSGI environment and builds a class on every request
    (some 4 % of an agent call under load); only its own path, /socket.io/, needs it."""
    flask_app, prefix = middleware.wsgi_app, middleware.engineio_path

    def dispatch(environ, start_response):
        if environ.get("PATH_INFO", "").startswith(prefix):
            return middleware(environ, start_response)
        return flask_app(environ, start_response)

    return dispatch


def _async_mode() -> str:
    """gevent under gunicorn's gevent workers (which patch the standard library first), else threads."""
    return "gevent" if monkey.is_module_patched("socket") else "threading"


def register_template_context(app: Flask) -> None:
    app.after_request(add_security_headers)

    @app.context_processor
    def inject():
        return {"asset_url": asset_url, "asset_tag": asset_tag, "assets": ASSETS, "current_locale": str(get_locale()),
                "languages": app.config["LANGUAGES"], "nav": navigation(), "theme": current_theme()}

    app.add_template_filter(ago)
