"""A tenant's administration: who administers it, and its provider keys (spec 001 §3.5).

A provider key is encrypted when it arrives and never shown again (only its masked hint). Answers
use the newest active key whose model the question asks for, or the newest active key when it asks
for none; with no active key the tenant has no LLM and chat answers from retrieval alone.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import lazy_gettext as _l
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.accounts.models import Tenant, User
from webapp.audit import service as audit
from webapp.db.crypto import box, mask_secret
from webapp.db.orm import db
from webapp.errors import BadRequest, Conflict, Forbidden, NotFound
from webapp.jobs import enqueue
from webapp.llm_configs.fields import BY_NAME, PROVIDERS
from webapp.llm_configs.providers import Target
from webapp.llm_configs.service import HOST_PORT_RE, URL_RE
from webapp.tenants.models import ProviderKey
from webapp.tokens import service as tokens

DEFAULT_ADDRESS = {"openai": BY_NAME["openai_base_url"].builtin, "lmstudio": "http://localhost:1234/v1",
                   "ollama": BY_NAME["ollama_endpoint"].builtin}
MAX_MODEL, MAX_KEY, MAX_URL = 100, 500, 300
MAX_KEYS = 50  # per tenant: a list a person can still read
MAX_ORIGINS = 20
DOMAIN_RE = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}")


def administers(actor: User) -> bool:
    """The tenant's administrators (role ADMIN) and instance admins manage its documents and keys."""
    return actor.role == "ADMIN" or actor.is_admin


def admin_of(actor: User) -> None:
    if not administers(actor):
        raise Forbidden(_l("Only an administrator of your organisation can do this."), code="PERMISSION_DENIED")


# --- The tenant and its widget -----------------------------------------------------------------


def own_tenant(actor: User, tenant_id: str) -> Tenant:
    """The actor's own tenant by id; any other id is "not found" (no answer says whether it exists)."""
    try:
        wanted = uuid.UUID(str(tenant_id))
    except ValueError:
        wanted = None
    if wanted is None or wanted != actor.tenant_id:
        raise NotFound(_l("No such organisation among yours."), code="RESOURCE_NOT_FOUND")
    return db.session.get(Tenant, wanted)


def allowed_origins(tenant: Tenant) -> list[str]:
    return list((tenant.settings or {}).get("allowed_origins", []))


def normal_origin(value: str) -> str | None:
    """`https://Shop.Example.com:443/` -> `https://shop.example.com`; None for anything not an origin."""
    try:
        parts = urlsplit(value.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password \
            or parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    default = {"http": 80, "https": 443}[parts.scheme]
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port and port != default else "")


def set_allowed_origins(actor: User, origins: list[str], *, ip: str | None = None) -> list[str]:
    """The sites whose pages may use the widget (browsers send their origin; others are refused)."""
    admin_of(actor)
    cleaned: list[str] = []
    for value in (o for o in origins if o.strip()):
        origin = normal_origin(value)
        if origin is None:
            raise _invalid(_l("%(value)s is not an origin: write it like https://www.example.com (no path).",
                              value=value.strip()[:100]), "allowed_origins")
        if origin not in cleaned:
            cleaned.append(origin)
    if len(cleaned) > MAX_ORIGINS:
        raise _invalid(_l("At most %(max)s sites may use the widget.", max=MAX_ORIGINS), "allowed_origins")
    tenant = db.session.get(Tenant, actor.tenant_id)
    tenant.settings = {**(tenant.settings or {}), "allowed_origins": cleaned}
    audit.record("tenant.origins", ip=ip, actor=actor, target=f"tenant {tenant.id}", details={"origins": cleaned})
    db.session.commit()
    return cleaned


def origin_allowed(tenant_id: uuid.UUID, origin: str) -> bool:
    tenant = db.session.get(Tenant, tenant_id)
    return tenant is not None and normal_origin(origin) in allowed_origins(tenant)


@dataclass(frozen=True)
class Embed:
    snippet: str
    api_key: str
    tenant_id: uuid.UUID
    prefix: str


def embed(actor: User, tenant_id: str, *, ip: str | None = None) -> Embed:
    """The tenant's widget snippet and key; the first ask makes the key."""
    tenant = own_tenant(actor, tenant_id)
    found = tokens.live_widget_key(tenant.id)
    if found is None:
        try:
            found = tokens.mint_widget_key(tenant.id, actor, ip=ip or "")
        except IntegrityError:  # someone else's first ask made it just now
            db.session.rollback()
            found = tokens.live_widget_key(tenant.id)
    token, raw = found
    return Embed(snippet=snippet(raw), api_key=raw, tenant_id=tenant.id, prefix=token.prefix)


def rotate_widget_key(actor: User, *, ip: str | None = None) -> Embed:
    """A new widget key; the old one stops working at once (pages must get the new snippet)."""
    admin_of(actor)
    token, raw = tokens.mint_widget_key(actor.tenant_id, actor, ip=ip or "")
    return Embed(snippet=snippet(raw), api_key=raw, tenant_id=actor.tenant_id, prefix=token.prefix)


def snippet(raw_key: str) -> str:
    """One script tag, served by this instance (no third-party CDN); the API address comes from its src."""
    src = f"{current_app.config['PUBLIC_URL']}/static/widget/widget.js"
    return f'<script src="{escape(src)}" data-api-key="{escape(raw_key)}" defer></script>'


def tenant_settings(tenant: Tenant) -> dict:
    newest = db.session.scalar(select(ProviderKey.model).where(
        ProviderKey.tenant_id == tenant.id, ProviderKey.is_active.is_(True))
        .order_by(ProviderKey.created_at.desc(), ProviderKey.id).limit(1))
    return {"embedding_model": embedding_model(tenant) or None, "llm_model": newest}


# --- Provider keys -----------------------------------------------------------------------------


def provider_keys(actor: User) -> list[ProviderKey]:
    admin_of(actor)
    return list(db.session.scalars(select(ProviderKey).where(ProviderKey.tenant_id == actor.tenant_id)
                                   .order_by(ProviderKey.created_at.desc(), ProviderKey.id)))


def _invalid(message, field: str) -> BadRequest:
    return BadRequest(message, code="VALIDATION_ERROR", field=field)


def add_provider_key(actor: User, *, provider: str, model: str, api_key: str = "", base_url: str = "",
                     ip: str | None = None) -> ProviderKey:
    admin_of(actor)
    provider, model, api_key, base_url = provider.strip().lower(), model.strip(), api_key.strip(), base_url.strip()
    if provider not in PROVIDERS:
        raise _invalid(_l("The provider must be one of: %(names)s.", names=", ".join(PROVIDERS)), "provider")
    if not model or len(model) > MAX_MODEL or not model.isprintable():
        raise _invalid(_l("Name the model (1 to %(max)s printable characters).", max=MAX_MODEL), "model")
    if len(api_key) > MAX_KEY or not api_key.isprintable() or " " in api_key:
        raise _invalid(_l("The API key is not a valid key."), "api_key")
    if provider == "openai" and not api_key:
        raise _invalid(_l("OpenAI needs an API key."), "api_key")
    if base_url and (len(base_url) > MAX_URL or not (
            URL_RE.fullmatch(base_url) or (provider != "openai" and HOST_PORT_RE.fullmatch(base_url)))):
        raise _invalid(_l("The base URL must be an http(s) URL."), "base_url")
    count = db.session.scalar(select(db.func.count()).select_from(ProviderKey)
                              .where(ProviderKey.tenant_id == actor.tenant_id))
    if count >= MAX_KEYS:
        raise _invalid(_l("This organisation already has %(max)s keys; delete one first.", max=MAX_KEYS), "api_key")
    row = ProviderKey(tenant_id=actor.tenant_id, provider=provider, model=model, base_url=base_url,
                      secret=box().encrypt(api_key) if api_key else "", hint=mask_secret(api_key),
                      created_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    audit.record("provider_key.create", ip=ip, actor=actor, target=f"provider key {row.id}",
                 details={"provider": provider, "model": model})
    db.session.commit()
    enqueue("documents.embed", str(actor.tenant_id))  # the newest key now makes the vectors too
    return row


def delete_provider_key(actor: User, key_id: str, *, ip: str | None = None) -> None:
    admin_of(actor)
    row = _own_key(actor, key_id)
    db.session.delete(row)
    audit.record("provider_key.delete", ip=ip, actor=actor, target=f"provider key {row.id}")
    db.session.commit()


def _own_key(actor: User, key_id: str) -> ProviderKey:
    try:
        wanted = uuid.UUID(str(key_id))
    except ValueError:
        wanted = None
    row = db.session.get(ProviderKey, wanted) if wanted else None
    if row is None or row.tenant_id != actor.tenant_id:
        raise NotFound(_l("No such API key in your organisation."), code="RESOURCE_NOT_FOUND")
    return row


def models_of(tenant_id: uuid.UUID) -> list[str]:
    return list(db.session.scalars(select(ProviderKey.model).distinct().where(
        ProviderKey.tenant_id == tenant_id, ProviderKey.is_active.is_(True)).order_by(ProviderKey.model)))


def answer_target(tenant_id: uuid.UUID, model: str | None) -> Target | None:
    """Where the tenant's answers are asked: None when it has no active key (retrieval only); a
    model it has no key for is a 400 that names the ones it has."""
    query = select(ProviderKey).where(ProviderKey.tenant_id == tenant_id, ProviderKey.is_active.is_(True)) \
        .order_by(ProviderKey.created_at.desc(), ProviderKey.id).limit(1)
    if model:
        query = query.where(ProviderKey.model == model)
    row = db.session.scalar(query)
    if row is None:
        available = models_of(tenant_id)
        if not available:
            return None
        raise _invalid(_l("The model %(model)s is not set up for this organisation; use one of: %(names)s.",
                          model=model, names=", ".join(available)), "model")
    return _target(row, row.model)


def _target(row: ProviderKey, model: str) -> Target:
    address = row.base_url or DEFAULT_ADDRESS[row.provider]
    return Target(row.provider, address, model, box().decrypt(row.secret) if row.secret else "")


# --- Embeddings ----------------------------------------------------------------------------------


def embedding_model(tenant: Tenant) -> str:
    return (tenant.settings or {}).get("embedding_model") or ""


def embedding_target(tenant_id: uuid.UUID) -> Target | None:
    """Where the tenant's passages and questions get their vectors: its embedding model, asked with
    its newest active key; None (full-text retrieval only) without either."""
    tenant = db.session.get(Tenant, tenant_id)
    model = embedding_model(tenant) if tenant else ""
    if not model:
        return None
    row = db.session.scalar(select(ProviderKey).where(ProviderKey.tenant_id == tenant_id,
                                                      ProviderKey.is_active.is_(True))
                            .order_by(ProviderKey.created_at.desc(), ProviderKey.id).limit(1))
    return _target(row, model) if row else None


def set_embedding_model(actor: User, model: str, *, ip: str | None = None) -> Tenant:
    """Name the model passages are also found with by meaning ("" turns it off). Vectors of another
    model are replaced in the background (the documents.embed job)."""
    admin_of(actor)
    model = model.strip()
    if len(model) > MAX_MODEL or not model.isprintable():
        raise _invalid(_l("Name the model (1 to %(max)s printable characters).", max=MAX_MODEL), "embedding_model")
    tenant = db.session.get(Tenant, actor.tenant_id)
    tenant.settings = {**(tenant.settings or {}), "embedding_model": model or None}
    audit.record("tenant.embedding_model", ip=ip, actor=actor, target=f"tenant {tenant.id}",
                 details={"embedding_model": model})
    db.session.commit()
    enqueue("documents.embed", str(tenant.id))
    return tenant


def update_tenant(actor: User, *, name: str, domain: str, ip: str | None = None) -> Tenant:
    """The organisation's name and domain (its administrators)."""
    admin_of(actor)
    name, domain = " ".join(name.split()), domain.strip().lower()
    if not name or len(name) > 200 or not name.isprintable():
        raise _invalid(_l("Give the organisation a name of 1 to 200 characters."), "name")
    if domain and not DOMAIN_RE.fullmatch(domain):
        raise _invalid(_l("The domain should look like example.com."), "domain")
    tenant = db.session.get(Tenant, actor.tenant_id)
    tenant.name, tenant.domain = name, domain or None
    audit.record("tenant.update", ip=ip, actor=actor, target=f"tenant {tenant.id}", details={"name": name,
                                                                                            "domain": domain})
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise Conflict(_l("Another organisation already uses that domain."), field="domain") from None
    return tenant
