"""Spec 001 §3.4: the caller's organisation and its widget embed snippet. Another organisation's id
is a 404, whether or not it exists."""

from __future__ import annotations

from flask import jsonify
from pydantic import BaseModel, Field

from webapp.api.contents import acting_person
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip
from webapp.tenants import service

TAGS = ("Organisation (spec 001)",)
NOT_YOURS = "RESOURCE_NOT_FOUND: not the caller's organisation"
ERRORS = {404: NOT_YOURS, 403: "PERMISSION_DENIED: a credential of no one"}
bp = MachineBlueprint("api_tenants", __name__, family=RAG, credentials=[PERSON_OR_AGENT],
                      rate_limits="API_RATE_LIMITS")


class TenantSettings(BaseModel):
    embedding_model: str | None
    llm_model: str | None = Field(description="The model of the newest active provider key")


class TenantInfo(BaseModel):
    id: str
    name: str
    domain: str | None
    plan: str
    status: str
    settings: TenantSettings
    created_at: str
    allowed_origins: list[str] = Field(description="An addition to spec 001: the sites the widget may be used on")


class EmbedSnippet(BaseModel):
    snippet: str = Field(description="One script tag loading this instance's widget.js with the key")
    api_key: str = Field(description="The organisation's widget key (X-API-Key); public by nature")
    tenant_id: str


@bp.get("/api/v1/tenants/<tenant_id>")
@requires()
@operation("The caller's organisation", "getTenant", tags=TAGS,
           responses={200: Reply("The organisation", TenantInfo)}, errors=ERRORS)
def get_tenant(tenant_id: str):
    tenant = service.own_tenant(acting_person(), tenant_id)
    current_call().target = f"tenant {tenant.id}"
    return jsonify(id=str(tenant.id), name=tenant.name, domain=tenant.domain, plan=tenant.plan, status=tenant.status,
                   settings=service.tenant_settings(tenant), created_at=tenant.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                   allowed_origins=service.allowed_origins(tenant))


@bp.get("/api/v1/tenants/<tenant_id>/embed-snippet")
@requires()
@operation("The website widget's embed snippet and key (made on first ask)", "getEmbedSnippet", tags=TAGS,
           responses={200: Reply("The snippet", EmbedSnippet)}, errors=ERRORS)
def get_embed_snippet(tenant_id: str):
    embed = service.embed(acting_person(), tenant_id, ip=client_ip())
    current_call().target = f"tenant {embed.tenant_id}"
    return jsonify(snippet=embed.snippet, api_key=embed.api_key, tenant_id=str(embed.tenant_id))
