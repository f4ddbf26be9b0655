"""Spec 001 §3.5: an organisation's LLM provider keys (its administrators only). A key is
encrypted when it arrives and never returned; the list shows a masked hint."""

from __future__ import annotations

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, RootModel

from webapp.api.contents import Deleted, acting_person
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import parse_body
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip
from webapp.tenants import service
from webapp.tenants.models import ProviderKey

TAGS = ("Provider keys (spec 001)",)
EXAMPLE = 'Expected {"provider": "openai", "model": "gpt-4o", "api_key": "sk-..."}.'
FORBIDDEN = "PERMISSION_DENIED: not an administrator of the organisation"
bp = MachineBlueprint("api_keys", __name__, family=RAG, credentials=[PERSON_OR_AGENT], rate_limits="API_RATE_LIMITS")


class NewKey(BaseModel):
    model_config = ConfigDict(extra="ignore")
    provider: str = Field(max_length=20, examples=["openai"], description="openai, lmstudio or ollama")
    model: str = Field(max_length=100, examples=["gpt-4o"])
    api_key: str = Field(default="", max_length=500, description="Required for openai; local servers need none")
    base_url: str = Field(default="", max_length=300,
                          description="An addition to spec 001: the provider's address, when not its usual one")


class KeyItem(BaseModel):
    id: str
    provider: str
    model: str
    is_active: bool
    created_at: str
    api_key_hint: str = Field(description="An addition to spec 001: the key masked (sk-****...abcd)")
    base_url: str


class KeyList(RootModel[list[KeyItem]]):
    """A bare JSON array, as spec 001 answers it."""


def _item(row: ProviderKey) -> dict:
    return {"id": str(row.id), "provider": row.provider, "model": row.model, "is_active": row.is_active,
            "created_at": row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"), "api_key_hint": row.hint,
            "base_url": row.base_url}


@bp.get("/api/v1/api-keys")
@requires()
@operation("The organisation's provider keys (never the keys themselves)", "listApiKeys", tags=TAGS,
           responses={200: Reply("The keys", KeyList)}, errors={403: FORBIDDEN})
def list_keys():
    return jsonify([_item(row) for row in service.provider_keys(acting_person(administering=True))])


@bp.post("/api/v1/api-keys")
@requires()
@operation("Add a provider key for the organisation's answers", "createApiKey", body=NewKey, tags=TAGS,
           responses={201: Reply("Stored, encrypted; the key is not shown again", KeyItem)},
           errors={400: "VALIDATION_ERROR: an unknown provider, no model, no key for openai, a bad base URL",
                   403: FORBIDDEN})
def create_key():
    data = parse_body(NewKey, EXAMPLE)
    row = service.add_provider_key(acting_person(administering=True), provider=data.provider, model=data.model,
                                   api_key=data.api_key, base_url=data.base_url, ip=client_ip())
    current_call().target = f"provider key {row.id}"
    response = jsonify(_item(row))
    response.status_code = 201
    return response


@bp.delete("/api/v1/api-keys/<api_key_id>")
@requires()
@operation("Delete a provider key", "deleteApiKey", tags=TAGS, responses={200: Reply("Deleted", Deleted)},
           errors={403: FORBIDDEN, 404: "RESOURCE_NOT_FOUND: no such key in the organisation"})
def delete_key(api_key_id: str):
    current_call().target = f"provider key {api_key_id[:40]}"
    service.delete_provider_key(acting_person(administering=True), api_key_id, ip=client_ip())
    return jsonify(message="APIキーが削除されました")  # spec 001's words
