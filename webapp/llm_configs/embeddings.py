"""Embeddings (retrieval's optional second ranking): one vector per text, asked like an answer is
(providers.py: the address checked, an in-flight slot, one deadline, the body capped)."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass

from webapp.llm_configs.providers import (
    CHAT_SLOTS,
    ProviderFailed,
    Target,
    _DeadlinePassed,
    _host,
    _ollama_failures,
    _open,
    _openai_failures,
    _total_deadline,
)
from webapp.llm_configs.streaming import _capped, _openai_http

MAX_EMBEDDING_BYTES = 32 * 1024 * 1024  # a batch's vectors, as JSON
MAX_DIMENSIONS = 8192


@dataclass(frozen=True)
class Embedded:
    vectors: list[list[float]]
    model: str
    tokens_in: int = 0


def embed(target: Target, texts: list[str], *, deadline: float, allow_private: bool,
          max_in_flight: int) -> Embedded:
    """One vector per text, in order: OpenAI and LM Studio through the openai SDK (/v1/embeddings),
    Ollama through its /api/embed. Checked, capped and deadline-bound like an answer; vectors of
    the wrong number, length or content are a failure, never stored."""
    base, host = _open(target, allow_private, max_in_flight)
    ends = time.monotonic() + deadline
    try:
        with _total_deadline(deadline):
            embedded = _ollama_embed(target, base, texts, deadline, ends) if target.provider == "ollama" \
                else _openai_embed(target, base, texts, deadline, ends)
    except _DeadlinePassed:
        raise ProviderFailed("timeout", f"{host}: no vectors within {deadline:g} s") from None
    finally:
        CHAT_SLOTS.give_back()
    vectors = embedded.vectors
    if len(vectors) != len(texts) or not vectors or not all(
            isinstance(v, list) and 0 < len(v) <= MAX_DIMENSIONS and len(v) == len(vectors[0]) for v in vectors):
        raise ProviderFailed("unreachable", f"{host}: not one vector of the same length per text")
    return embedded


def _openai_embed(target: Target, base: str, texts: list[str], deadline: float, ends: float) -> Embedded:
    import openai

    host = _host(base)
    client = openai.OpenAI(base_url=base, api_key=target.api_key or "not-needed", timeout=deadline, max_retries=0,
                           http_client=_openai_http(deadline, host, ends, MAX_EMBEDDING_BYTES))
    with _openai_failures(host, deadline), client:
        answer = client.embeddings.create(model=target.model, input=texts, encoding_format="float")
    ordered = sorted(answer.data or [], key=lambda item: item.index)
    return Embedded(vectors=[list(item.embedding) for item in ordered], model=answer.model or target.model,
                    tokens_in=answer.usage.prompt_tokens if answer.usage else 0)


def _ollama_embed(target: Target, base: str, texts: list[str], deadline: float, ends: float) -> Embedded:
    import requests

    host = _host(base)
    with _ollama_failures(host, deadline, "embedding answer"):
        with requests.post(f"{base}/api/embed", timeout=deadline, allow_redirects=False, stream=True,
                           json={"model": target.model, "input": texts}) as response:
            if response.status_code != 200:
                raise ProviderFailed("status", f"{host} answered HTTP {response.status_code}", response.status_code)
            raw = b"".join(_capped(response.iter_content(chunk_size=65536), host, ends, MAX_EMBEDDING_BYTES))
        body = json.loads(raw)
        return Embedded(vectors=list(body["embeddings"]), model=str(body.get("model") or target.model),
                        tokens_in=int(body.get("prompt_eval_count") or 0))
