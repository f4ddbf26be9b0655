"""RAG answers (spec 001 §3.2): a question, the tenant's best passages, an answer that cites them.

With an active provider key the tenant's LLM writes the answer from the numbered passages (and the
conversation so far); without one the passages themselves are the answer, marked retrieval-only.
Nothing is written until the answer exists: the question, the answer with its sources and the usage
row are one transaction, so a provider failure leaves no half of a turn behind. The database is not
held while the LLM thinks.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from webapp.chats.models import ChatMessage, ChatSession
from webapp.db.base import utcnow
from webapp.db.orm import db
from webapp.documents.search import Passage, search
from webapp.documents.terms import query_terms
from webapp.errors import DomainError, NotFound
from webapp.llm_configs import providers, streaming
from webapp.outbound import KeyedSlots
from webapp.tenants.service import answer_target
from webapp.usage import service as usage

HISTORY_MESSAGES = 10  # earlier turns sent with a follow-up question
EXCERPT_CHARS = 400  # per passage in a retrieval-only answer
SYSTEM_PROMPT = (
    "You answer questions from the passages of the organisation's documents given below, numbered [1], [2] ... "
    "Use only what the passages say, and cite the passages you used by their numbers, like [1]. If they do not "
    "contain the answer, say that the documents do not cover it. Answer in the language of the question.")


@dataclass(frozen=True)
class Asker:
    """Who asks: a person of a tenant (spec 001's JWT), or a tenant's widget key (X-API-Key)."""

    tenant_id: uuid.UUID
    user_id: uuid.UUID | None = None
    token_id: int | None = None
    kind: str = "rag"  # or "widget"
    locale: str = "ja"


@dataclass(frozen=True)
class Question:
    query: str
    model: str | None = None
    top_k: int = 5
    session_id: uuid.UUID | None = None
    temperature: float | None = None
    max_tokens: int | None = None


@dataclass
class Reply:
    answer: str
    sources: list[dict]
    conversation_id: uuid.UUID
    metadata: dict = field(default_factory=dict)


@dataclass
class _Prepared:
    started: float
    history: list[dict]
    passages: list[Passage]
    target: providers.Target | None


def _prepare(asker: Asker, question: Question) -> _Prepared:
    started = time.perf_counter()
    history = _history(asker, question.session_id) if question.session_id else []
    passages = search(asker.tenant_id, question.query, limit=question.top_k)
    target = answer_target(asker.tenant_id, question.model)
    db.session.commit()  # end the read transaction: nothing is held while the LLM answers
    return _Prepared(started, history, passages, target)


# LLM answers in flight per tenant in this process: one organisation (or a scraped widget key)
# cannot take every slot the worker has.
TENANT_SLOTS = KeyedSlots()


def _take_slot(asker: Asker) -> None:
    if not TENANT_SLOTS.take(asker.tenant_id, current_app.config["RAG_LLM_MAX_PER_TENANT"]):
        raise _provider_error(providers.ProviderFailed("busy", "the organisation's answers in flight"))


def ask(asker: Asker, question: Question) -> Reply:
    prepared = _prepare(asker, question)
    if prepared.target is None:
        answer = _passages_only(prepared, asker, question)
    else:
        _take_slot(asker)
        try:
            answer = providers.chat(prepared.target, _messages(prepared, question), **_limits(question))
        except providers.ProviderFailed as failed:
            current_app.logger.warning("RAG answer failed (%s): %s", failed.kind, failed.detail)
            raise _provider_error(failed) from None
        finally:
            TENANT_SLOTS.give_back(asker.tenant_id)
    return _finish(asker, question, prepared, answer)


def ask_streaming(asker: Asker, question: Question) -> Iterator[dict]:
    """ask() for the chat page: the sources, then the answer's text as the LLM writes it, then
    {"event": "done"} once it is stored -- or {"event": "error"}, and nothing stored. Bad input and
    someone else's conversation raise here, before the first event."""
    prepared = _prepare(asker, question)

    def events() -> Iterator[dict]:
        yield {"event": "sources", "sources": [_source(p) for p in prepared.passages]}
        if prepared.target is None:
            answer = _passages_only(prepared, asker, question)
            yield {"event": "delta", "text": answer.content}
        else:
            answer = None
            try:
                _take_slot(asker)
            except DomainError as busy:
                yield {"event": "error", "message": str(busy.message)}
                return
            try:
                for piece in streaming.chat_stream(prepared.target, _messages(prepared, question),
                                                   **_limits(question)):
                    if isinstance(piece, str):
                        yield {"event": "delta", "text": piece}
                    else:
                        answer = piece
            except providers.ProviderFailed as failed:
                current_app.logger.warning("RAG answer failed (%s): %s", failed.kind, failed.detail)
                yield {"event": "error", "message": str(_provider_error(failed).message)}
                return
            except Exception:  # noqa: BLE001 (whatever broke mid-stream, the page hears of it)
                current_app.logger.exception("RAG answer stream failed")
                yield {"event": "error", "message": str(_provider_error(
                    providers.ProviderFailed("unreachable", "stream broke")).message)}
                return
            finally:
                TENANT_SLOTS.give_back(asker.tenant_id)
        try:
            reply = _finish(asker, question, prepared, answer)
        except DomainError as error:  # the conversation was deleted while the answer was written
            db.session.rollback()
            yield {"event": "error", "message": str(error.message)}
            return
        yield {"event": "done", "conversation_id": str(reply.conversation_id), "metadata": reply.metadata}

    return events()


def _finish(asker: Asker, question: Question, prepared: _Prepared, answer: providers.Answer) -> Reply:
    latency_ms = int((time.perf_counter() - prepared.started) * 1000)
    metadata = {"model": answer.model, "tokens_in": answer.tokens_in, "tokens_out": answer.tokens_out,
                "latency_ms": latency_ms, "retrieval_only": prepared.target is None}
    sources = [_source(passage) for passage in prepared.passages]
    cost = usage.cost_of(prepared.target.provider, answer.model, answer.tokens_in, answer.tokens_out) \
        if prepared.target else 0.0
    session_id = _record(asker, question, answer.content, sources, metadata, cost=cost)
    return Reply(answer=answer.content, sources=sources, conversation_id=session_id, metadata=metadata)


def _own_session(asker: Asker, session_id: uuid.UUID) -> ChatSession:
    found = db.session.get(ChatSession, session_id) if session_id else None
    owner = found is not None and found.tenant_id == asker.tenant_id and found.kind == asker.kind and (
        found.user_id == asker.user_id if asker.kind == "rag" else found.token_id == asker.token_id)
    if not owner:
        raise NotFound(_l("No such conversation: start a new one without session_id."), code="RESOURCE_NOT_FOUND")
    return found


def _history(asker: Asker, session_id: uuid.UUID) -> list[dict]:
    _own_session(asker, session_id)
    rows = db.session.scalars(select(ChatMessage).where(ChatMessage.session_id == session_id)
                              .order_by(ChatMessage.id.desc()).limit(HISTORY_MESSAGES))
    return [{"role": row.role, "content": row.content} for row in reversed(list(rows))]


def _source(passage: Passage) -> dict:
    return {"file_id": str(passage.document_id), "file_name": passage.file_name, "chunk_index": passage.ordinal,
            "chunk_text": passage.text, "title": passage.title, "page": passage.page,
            "score": round(passage.score, 6)}


def _label(passage: Passage) -> str:
    where = f" (p. {passage.page})" if passage.page else ""
    heading = f" — {passage.heading}" if passage.heading else ""
    return f"{passage.title}{where}{heading}"


def _passages_only(prepared: _Prepared, asker: Asker, question: Question) -> providers.Answer:
    return providers.Answer(content=_retrieval_only(prepared.passages, asker.locale, question.query),
                            model="retrieval-only")


def _excerpt(text: str, question: str) -> str:
    """About EXCERPT_CHARS of the passage, starting a little before the first word of the question
    it contains (a passage is longer than what answers the question)."""
    text = " ".join(text.split())
    if len(text) <= EXCERPT_CHARS:
        return text
    lowered = text.lower()
    found = [at for at in (lowered.find(word) for word in query_terms(question)) if at >= 0]
    start = max(0, min(found) - EXCERPT_CHARS // 4) if found else 0
    start = min(start, len(text) - EXCERPT_CHARS)
    excerpt = text[start:start + EXCERPT_CHARS].strip()
    return ("…" if start else "") + excerpt + ("…" if start + EXCERPT_CHARS < len(text) else "")


def _retrieval_only(passages: list[Passage], locale: str, question: str) -> str:
    with force_locale(locale):
        if not passages:
            return _("No language model is set up for this organisation, and no passage of its documents "
                     "matches the question.")
        lines = [_("No language model is set up for this organisation, so these are the passages of its "
                   "documents that best match the question:")]
    for number, passage in enumerate(passages, 1):
        lines.append(f"\n[{number}] {_label(passage)}\n{_excerpt(passage.text, question)}")
    return "\n".join(lines)


def _messages(prepared: _Prepared, question: Question) -> list[dict]:
    context = "\n\n".join(f"[{number}] {_label(p)}\n{p.text}" for number, p in enumerate(prepared.passages, 1)) \
        or "(No passage of the documents matches this question.)"
    return [{"role": "system", "content": f"{SYSTEM_PROMPT}\n\nPassages:\n\n{context}"}, *prepared.history,
            {"role": "user", "content": question.query}]


def _limits(question: Question) -> dict:
    config = current_app.config
    return {"deadline": config["RAG_LLM_TIMEOUT"], "allow_private": config["OUTBOUND_ALLOW_PRIVATE"],
            "max_in_flight": config["RAG_LLM_MAX_IN_FLIGHT"], "temperature": question.temperature,
            "max_tokens": question.max_tokens}


def _provider_error(failed: providers.ProviderFailed) -> DomainError:
    if failed.kind == "busy":
        return DomainError(_l("Too many answers are being written right now; try again in a few seconds."),
                           code="LLM_BUSY", status=503, headers={"Retry-After": "5"})
    if failed.kind == "timeout":
        return DomainError(_l("The language model did not answer in time; try again, or ask a shorter question."),
                           code="LLM_TIMEOUT", status=504)
    if failed.kind == "status":
        return DomainError(_l("The language model's provider refused the request (HTTP %(status)s); an "
                              "administrator should check the organisation's API key and model.",
                              status=failed.status), code="LLM_PROVIDER_ERROR", status=502)
    return DomainError(_l("The language model could not be reached; an administrator should check the "
                          "organisation's API key settings."), code="LLM_UNAVAILABLE", status=502)


def _record(asker: Asker, question: Question, answer: str, sources: list[dict], metadata: dict, *,
            cost: float) -> uuid.UUID:
    now = utcnow()
    if question.session_id:
        session = _own_session(asker, question.session_id)  # it may have been deleted meanwhile
        session.updated_at = now
    else:
        session = ChatSession(tenant_id=asker.tenant_id, user_id=asker.user_id, token_id=asker.token_id,
                              kind=asker.kind, title=" ".join(question.query.split())[:80], created_at=now,
                              updated_at=now)
        db.session.add(session)
        db.session.flush()
    db.session.add_all([
        ChatMessage(session_id=session.id, role="user", content=question.query, created_at=now),
        ChatMessage(session_id=session.id, role="assistant", content=answer, sources=sources, meta=metadata,
                    created_at=now)])
    usage.add("widget" if asker.kind == "widget" else "chat", model=metadata["model"], tenant_id=asker.tenant_id,
              user_id=asker.user_id, token_id=asker.token_id, tokens_in=metadata["tokens_in"],
              tokens_out=metadata["tokens_out"], cost=cost, latency_ms=metadata["latency_ms"])
    db.session.commit()
    return session.id


# --- The chat page: a person's conversations ---------------------------------------------------

MAX_LISTED = 100


def conversations(person) -> list[ChatSession]:
    return list(db.session.scalars(select(ChatSession).where(
        ChatSession.tenant_id == person.tenant_id, ChatSession.user_id == person.id, ChatSession.kind == "rag")
        .order_by(ChatSession.updated_at.desc()).limit(MAX_LISTED)))


def conversation(person, session_id) -> tuple[ChatSession, list[ChatMessage]]:
    session = _own_session(Asker(tenant_id=person.tenant_id, user_id=person.id), parse_id(session_id))
    messages = list(db.session.scalars(select(ChatMessage).where(ChatMessage.session_id == session.id)
                                       .order_by(ChatMessage.id)))
    return session, messages


def delete_conversation(person, session_id) -> None:
    session = _own_session(Asker(tenant_id=person.tenant_id, user_id=person.id), parse_id(session_id))
    db.session.delete(session)
    db.session.commit()


def parse_id(value) -> uuid.UUID | None:
    """A conversation id from a page or form; None if it is not one (the lookup then says not found)."""
    try:
        return uuid.UUID(str(value))
    except ValueError:
        return None
