"""Spec 001 §3.2: RAG chat over the caller's organisation's documents. Answers cite their passages
(`sources`), continue a conversation with `session_id`, and come from retrieval alone when the
organisation has no LLM key. 60 a minute per caller (§6).

The widget's twin answers for the organisation a widget key (X-API-Key) belongs to, from pages of
the sites the organisation allows: browsers are told so by CORS, and a request whose Origin is not
one of them is refused. Per key 60 a minute; per visitor (key and address) 10 a minute, so one
visitor cannot use up a site's allowance."""

from __future__ import annotations

import uuid

from flask import current_app, g, jsonify, request
from pydantic import BaseModel, ConfigDict, Field, field_validator

from webapp.api.contents import acting_person
from webapp.api.credentials import PERSON_OR_AGENT, WIDGET_KEY
from webapp.chats import service
from webapp.errors import Forbidden
from webapp.machine.blueprint import MachineBlueprint, charge
from webapp.machine.declarations import Reply, operation, requires
from webapp.machine.families import RAG
from webapp.machine.inputs import asked_language, parse_body
from webapp.machine.observe import current_call
from webapp.remote_addr import client_ip
from webapp.tenants import service as tenants

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


def _question(data: ChatRequest) -> service.Question:
    return service.Question(query=data.query, model=data.model, top_k=data.top_k, session_id=data.session_id,
                            temperature=data.temperature, max_tokens=data.max_tokens)


def _answer(reply: service.Reply):
    current_call().target = f"conversation {reply.conversation_id}"
    return jsonify(answer=reply.answer, sources=reply.sources, conversation_id=str(reply.conversation_id),
                   metadata=reply.metadata)


ERRORS = {502: "LLM_PROVIDER_ERROR / LLM_UNAVAILABLE: the organisation's LLM refused or is unreachable",
          503: "LLM_BUSY: too many answers in flight; Retry-After says when to try again",
          504: "LLM_TIMEOUT: the LLM did not answer in time"}


@bp.post("/api/v1/chats/rag")
@requires()
@operation("Ask the organisation's documents", "ragChat", body=ChatRequest, tags=TAGS,
           responses={200: Reply("The answer, its sources and how it was made", ChatResponse)},
           errors={400: "VALIDATION_ERROR: the body breaks spec 001 §5.2, or names a model the organisation has "
                        "no key for",
                   403: "PERMISSION_DENIED: a credential of no one",
                   404: "RESOURCE_NOT_FOUND: session_id is not a conversation of yours", **ERRORS})
def rag_chat():
    data = parse_body(ChatRequest, EXAMPLE)
    person = acting_person()
    asker = service.Asker(tenant_id=person.tenant_id, user_id=person.id, locale=asked_language(person.locale))
    return _answer(service.ask(asker, _question(data)))


# --- The widget ---------------------------------------------------------------------------------

def _origin_allowed() -> bool:
    """The request's Origin is one of the key's organisation's sites (remembered for the request)."""
    if "widget_origin_ok" not in g:
        call = current_call()
        origin = request.headers.get("Origin", "")
        tenant_id = call.principal.tenant_id if call is not None and call.principal else None
        g.widget_origin_ok = bool(origin and tenant_id and tenants.origin_allowed(tenant_id, origin))
    return g.widget_origin_ok


def _cors(response):
    origin = request.headers.get("Origin")
    if not origin:
        return response
    if request.method == "OPTIONS":  # a preflight: no key to judge by, and it reveals nothing
        response.headers.update({"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Methods": "POST",
                                 "Access-Control-Allow-Headers": "Content-Type, X-API-Key, Accept-Language",
                                 "Access-Control-Max-Age": "600"})
    elif _origin_allowed():
        response.headers["Access-Control-Allow-Origin"] = origin
        response.headers["Access-Control-Expose-Headers"] = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, " \
                                                            "X-RateLimit-Reset"
    response.vary.add("Origin")
    return response


widget = MachineBlueprint("api_widget", __name__, family=RAG, credentials=[WIDGET_KEY],
                          rate_limits="WIDGET_RATE_LIMITS", cors=_cors)


@widget.post("/api/v1/chats/widget/chat")
@requires()
@operation("Ask from a website's chat widget (an organisation's widget key); `model` and `temperature` are the "
           "organisation's, and `max_tokens` is capped (WIDGET_MAX_TOKENS)", "widgetChat", body=ChatRequest,
           tags=TAGS, responses={200: Reply("The answer, its sources and how it was made", ChatResponse)},
           errors={400: "VALIDATION_ERROR: the body breaks spec 001 §5.2",
                   403: "PERMISSION_DENIED: the page's site is not one the organisation allows",
                   404: "RESOURCE_NOT_FOUND: session_id is not a conversation of this widget", **ERRORS})
def widget_chat():
    principal = current_call().principal
    if principal.tenant_id is None:
        raise Forbidden("This widget key belongs to no organisation; copy the snippet from the Tenant page again.",
                        code="PERMISSION_DENIED")
    origin = request.headers.get("Origin")
    if origin and not _origin_allowed():
        raise Forbidden(f"This widget may not be used on {origin[:200]}: an administrator of the organisation adds "
                        "the site under Tenant → Allowed sites.", code="PERMISSION_DENIED")
    charge("WIDGET_VISITOR_LIMITS", 1, key=f"{principal.token_id}:{client_ip()}", suffix="-Visitor")
    data = parse_body(ChatRequest, EXAMPLE)
    # The key is public: a visitor does not choose the organisation's model, temperature or answer length.
    cap = current_app.config["WIDGET_MAX_TOKENS"]
    question = service.Question(query=data.query, top_k=data.top_k, session_id=data.session_id,
                                max_tokens=min(data.max_tokens or cap, cap))
    return _answer(service.ask(service.Asker(tenant_id=principal.tenant_id, token_id=principal.token_id,
                                             kind="widget", locale=asked_language()), question))
