"""Helpers for machine-API tests: users with identities, settings, tokens, statement counts."""

import sqlite3
import uuid
from contextlib import contextmanager

from sqlalchemy import event

from webapp.accounts import service as accounts
from webapp.accounts.models import User
from webapp.db.orm import db
from webapp.llm_configs import service as llm
from webapp.tokens import service as tokens

OPENAI_KEY = "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789WXYZ"


def make_user(app, email="dev@example.com", github=None, gitlab=None, admin=False):
    with app.app_context():
        logins = {k: v for k, v in (("github", github), ("gitlab", gitlab)) if v}
        user = accounts.create_account(email=email, password="Passw0rd!", username=None, admin=admin, logins=logins)
        return user.id


def set_config(app, user_id, data, api_key=None):
    """Save settings as the user would (user_id None: the instance default, saved by an admin)."""
    with app.app_context():
        if user_id is None:
            actor = db.session.scalar(db.select(User).where(User.is_admin.is_(True)))
            scope = llm.Scope(None)
        else:
            actor = db.session.get(User, user_id)
            scope = llm.Scope(actor)
        llm.save(actor, scope, data, new_api_key=api_key, ip="127.0.0.1")


def make_token(app, kind="service", owner_id=None, scopes=None, expires_in_days=None):
    if kind == "widget" and owner_id is None:  # a widget key answers for someone's organisation
        owner_id = make_user(app, f"widget-owner-{uuid.uuid4().hex[:8]}@example.com")
    with app.app_context():
        owner = db.session.get(User, owner_id) if owner_id else None
        token, raw = tokens.create_token(None, kind=kind, name=f"{kind}-token", owner=owner, scopes=scopes,
                                         expires_in_days=expires_in_days)
        return token.id, raw


def bearer(raw):
    return {"Authorization": f"Bearer {raw}"}


OPENAI = {"provider": "openai", "function_calling": True, "openai_model": "gpt-4o",
          "openai_base_url": "https://api.openai.com/v1", "openai_max_token": 40960,
          "system_prompt": "あなたは優秀なコーディングアシスタントです", "max_llm_process_num": 1000}


@contextmanager
def dbapi_statements(app):
    """Every statement the app's database connections run, seen at the driver (sqlite3's trace
    callback, a psycopg cursor class), so the raw-cursor hot path is counted too; SQLAlchemy's own
    cursor events never see it."""
    statements: list[str] = []

    def trace(dbapi_connection, _record):
        if isinstance(dbapi_connection, sqlite3.Connection):
            dbapi_connection.set_trace_callback(statements.append)
            return
        base = dbapi_connection.cursor_factory

        class Counting(base):
            def execute(self, query, *args, **kwargs):
                statements.append(query if isinstance(query, str) else query.as_string(self))
                return super().execute(query, *args, **kwargs)

        dbapi_connection.cursor_factory = Counting

    with app.app_context():
        engine = db.engine
    event.listen(engine, "connect", trace)
    engine.dispose()  # every connection from here on is a new, traced one
    try:
        yield statements
    finally:
        event.remove(engine, "connect", trace)
        engine.dispose()


def selects(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT")]
