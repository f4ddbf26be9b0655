"""Answers streamed as they come (the chat page), and response bodies read with a cap and a
deadline (the streams and webapp/llm_configs/embeddings.py)."""

from __future__ import annotations

import json
import time

from webapp.llm_configs.providers import (
    CHAT_SLOTS,
    MAX_ANSWER_BYTES,
    Answer,
    ProviderFailed,
    Target,
    _host,
    _ollama_failures,
    _open,
    _openai_failures,
    _tls,
)


def chat_stream(target: Target, messages: list[dict], *, deadline: float, allow_private: bool, max_in_flight: int,
                temperature: float | None = None, max_tokens: int | None = None):
    """Like chat(), but yields the answer's text as it comes, then the whole Answer last.

    The deadline is checked between pieces and bounds every read (a gevent timeout cannot guard a
    generator, whose consumer runs between the pieces), so a silent or dripping server ends it too."""
    base, host = _open(target, allow_private, max_in_flight)
    ends = time.monotonic() + deadline
    try:
        pieces = _ollama_stream(target, base, messages, temperature, max_tokens, deadline, ends) \
            if target.provider == "ollama" else _openai_stream(target, base, messages, temperature, max_tokens,
                                                              deadline, ends)
        size = 0
        for piece in pieces:
            if time.monotonic() > ends:
                raise ProviderFailed("timeout", f"{host}: the answer took more than {deadline:g} s")
            if isinstance(piece, str):
                size += len(piece.encode())
                if size > MAX_ANSWER_BYTES:
                    raise ProviderFailed("too_large", f"{host}: an answer over {MAX_ANSWER_BYTES} bytes")
            yield piece
    finally:
        CHAT_SLOTS.give_back()


def _capped(pieces, host: str, ends: float, cap: int = MAX_ANSWER_BYTES):
    """The bytes of a streamed answer as they arrive, stopped at `cap` or at the deadline: a server
    that sends without end (no newline, keep-alives only) is cut off, not buffered."""
    total = 0
    for piece in pieces:
        total += len(piece)
        if total > cap:
            raise ProviderFailed("too_large", f"{host}: an answer over {cap} bytes")
        if time.monotonic() > ends:
            raise ProviderFailed("timeout", f"{host}: the answer took too long")
        yield piece


def _openai_http(deadline: float, host: str, ends: float, cap: int = MAX_ANSWER_BYTES):
    """httpx for the openai SDK, its response bodies read through _capped."""
    import httpx2 as httpx  # the HTTP client the openai SDK is built on (a fork of httpx)
    import openai

    class Capped(httpx.SyncByteStream):
        def __init__(self, inner):
            self.inner = inner

        def __iter__(self):
            return _capped(self.inner, host, ends, cap)

        def close(self):
            self.inner.close()

    class Transport(httpx.HTTPTransport):
        def handle_request(self, request):
            response = super().handle_request(request)
            return httpx.Response(response.status_code, headers=response.headers, stream=Capped(response.stream),
                                  extensions=response.extensions, request=request)

    return openai.DefaultHttpxClient(follow_redirects=False, timeout=deadline, transport=Transport(verify=_tls()))


def _openai_stream(target, base, messages, temperature, max_tokens, deadline, ends):
    import openai

    host = _host(base)
    options = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    client = openai.OpenAI(base_url=base, api_key=target.api_key or "not-needed", timeout=deadline, max_retries=0,
                           http_client=_openai_http(deadline, host, ends))
    parts, model, usage = [], target.model, None
    with _openai_failures(host, deadline), client:
        stream = client.chat.completions.create(model=target.model, messages=messages, stream=True,
                                                stream_options={"include_usage": True}, **options)
        with stream:
            for chunk in stream:
                model = chunk.model or model
                usage = chunk.usage or usage
                for choice in chunk.choices or ():
                    text = choice.delta.content if choice.delta else None
                    if text:
                        parts.append(text)
                        yield text
    yield Answer(content="".join(parts), model=model, tokens_in=usage.prompt_tokens if usage else 0,
                 tokens_out=usage.completion_tokens if usage else 0)


def _lines(pieces):
    """NDJSON lines out of byte pieces (each piece already counted against the cap)."""
    buffer = b""
    for piece in pieces:
        buffer += piece
        *complete, buffer = buffer.split(b"\n")
        yield from (line for line in complete if line.strip())
    if buffer.strip():
        yield buffer


def _ollama_stream(target, base, messages, temperature, max_tokens, deadline, ends):
    import requests

    host = _host(base)
    options = {k: v for k, v in (("temperature", temperature), ("num_predict", max_tokens)) if v is not None}
    parts, model, tokens_in, tokens_out = [], target.model, 0, 0
    with _ollama_failures(host, deadline, "chat stream"):
        with requests.post(f"{base}/api/chat", timeout=deadline, allow_redirects=False, stream=True, json={
                "model": target.model, "messages": messages, "stream": True, "options": options}) as response:
            if response.status_code != 200:
                raise ProviderFailed("status", f"{host} answered HTTP {response.status_code}", response.status_code)
            for line in _lines(_capped(response.iter_content(chunk_size=8192), host, ends)):
                body = json.loads(line)
                text = str((body.get("message") or {}).get("content") or "")
                model = str(body.get("model") or model)
                if text:
                    parts.append(text)
                    yield text
                if body.get("done"):
                    tokens_in, tokens_out = int(body.get("prompt_eval_count") or 0), int(body.get("eval_count") or 0)
                    break
    yield Answer(content="".join(parts), model=model, tokens_in=tokens_in, tokens_out=tokens_out)
