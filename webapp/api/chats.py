"""Spec 001 §3.2: RAG chat over the caller's organisation's documents. Answers cite their passages
(`sources`), continue a conversation with `session_id`, and come from retrieval alone when the
organisation has no LLM key. 60 a minute per caller (§6)."""

from __future__ import annotations

import uuid

from flask import current_app, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from webapp.api.contents import acting_person
from webapp.api.credentials import PERSON_OR_AGENT
from webapp.chats import service
from webapp.machine.blueprint import MachineBlueprint
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import parse_body
from webapp.machine.observe import current_call

TAGS = ("Chat (spec 001)",)
EXAMPLE = 'Expected {"query": "...", "top_k": 5} (query 1-1000 characters, top_k 1-20, temperature 0-2).'
bp = MachineBlueprint("api_chats", __name__, family=RAG, credentials=[PERSON_OR_AGENT], rate_limits="CHAT_RATE_LIMITS")


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    query: str = Field(min_length=1, max_length=1000, examples=["有給休暇は何日もらえますか"])
    model: str | None = Field(default=None, min_length=1, max_length=100,
                              description="One of the organisation's provider-key models; omitted: the newest key's")
    top_k: int = Field(default=5, ge=1, le=20)
    session_id: uuid.UUID | None = Field(default=None, description="Continue this conversation")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=32_000)

    @field_validator("query")
    @classmethod
    def _has_words(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query is blank")
        return value


class Source(BaseModel):
    file_id: str
    file_name: str
    chunk_index: int
    chunk_text: str
    title: str = Field(description="An addition to spec 001: the document's title")
    page: int | None = Field(description="An addition to spec 001: the PDF page the passage starts on")
    score: float = Field(description="An addition to spec 001: the full-text rank (engine-specific)")


class ChatMetadata(BaseModel):
    model: str = Field(description='"retrieval-only" when the organisation has no LLM key')
    tokens_in: int
    tokens_out: int
    latency_ms: int
    retrieval_only: bool = Field(description="An addition to spec 001: the answer is the passages themselves")


class ChatResponse(BaseModel):
    answer: str
    sources: list[Source]
    conversation_id: str
    metadata: ChatMetadata


def _locale(person) -> str:
    return request.accept_languages.best_match(current_app.config["LANGUAGES"]) or person.locale or \
        current_app.config["BABEL_DEFAULT_LOCALE"]


@bp.post("/api/v1/chats/rag")
@requires()
@operation("Ask the organisation's documents", "ragChat", body=ChatRequest, tags=TAGS,
           responses={200: Reply("The answer, its sources and how it was made", ChatResponse)},
           errors={400: "VALIDATION_ERROR: the body breaks spec 001 §5.2, or names a model the organisation has "
                        "no key for",
                   403: "PERMISSION_DENIED: a credential of no one",
                   404: "RESOURCE_NOT_FOUND: session_id is not a conversation of yours",
                   502: "LLM_PROVIDER_ERROR / LLM_UNAVAILABLE: the organisation's LLM refused or is unreachable",
                   503: "LLM_BUSY: too many answers in flight; Retry-After says when to try again",
                   504: "LLM_TIMEOUT: the LLM did not answer in time"})
def rag_chat():
    data = parse_body(ChatRequest, EXAMPLE)
    person = acting_person()
    reply = service.ask(
        service.Asker(tenant_id=person.tenant_id, user_id=person.id, locale=_locale(person)),
        service.Question(query=data.query, model=data.model, top_k=data.top_k, session_id=data.session_id,
                         temperature=data.temperature, max_tokens=data.max_tokens))
    current_call().target = f"conversation {reply.conversation_id}"
    return jsonify(answer=reply.answer, sources=reply.sources, conversation_id=str(reply.conversation_id),
                   metadata=reply.metadata)
