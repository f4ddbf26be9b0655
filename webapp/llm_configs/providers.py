"""Talk to a provider through webapp/outbound.py's checked, deadline-bound requests: which models
it offers ("Test connection": GET /v1/models for OpenAI and LM Studio, /api/tags for Ollama), and
whole answers (chat, JSON, tool calls). Answers streamed as they come are in streaming.py."""

from __future__ import annotations

import contextlib
import functools
import json
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from webapp.outbound import OutboundRefused, _Slots, destination, get_json


@dataclass(frozen=True)
class Probe:
    ok: bool
    models: tuple[str, ...] = ()
    message: str = ""
    host: str = ""


@dataclass(frozen=True)
class Limits:
    deadline: float  # seconds for the whole exchange
    max_in_flight: int  # probes at once in this process
    allow_private: bool  # loopback and private networks


def with_scheme(url: str) -> str:
    """Addresses may be written without a scheme ("localhost:1234", as spec 000 shows LM Studio's):
    those are plain http."""
    url = url.strip().rstrip("/")
    return url if "://" in url else f"http://{url}"


def openai_compatible_base(url: str) -> str:
    """The OpenAI-compatible API (OpenAI, LM Studio) lives under /v1."""
    url = with_scheme(url)
    return url if urlsplit(url).path.endswith("/v1") else f"{url}/v1"


def _host(url: str) -> str:
    """host[:port], for messages and the log (never the user:password@ an address may carry)."""
    return urlsplit(url if "://" in url else f"http://{url}").netloc.rpartition("@")[2]


def list_models(provider: str, address: str, api_key: str, limits: Limits) -> Probe:
    """Never raises: every failure becomes a message a person can act on, and no more."""
    if not address:
        return Probe(False, message=str(_l("Enter the address first.")))
    if provider == "ollama":
        url, headers, key, field = f"{with_scheme(address)}/api/tags", {}, "models", "name"
    else:
        url, key, field = f"{openai_compatible_base(address)}/models", "data", "id"
        headers = {"Authorization": f"Bearer {api_key or 'not-needed'}"}
    host = _host(url)
    try:
        body = get_json(url, headers=headers, deadline=limits.deadline, allow_private=limits.allow_private,
                        max_in_flight=limits.max_in_flight)
        models = tuple(sorted(str(item[field]) for item in body[key]))
    except OutboundRefused as refused:
        return Probe(False, message=_refusal(refused, host), host=host)
    except (KeyError, TypeError):
        return Probe(False, message=str(_l("%(host)s answered, but not with a model list.", host=host)), host=host)
    return Probe(True, models=models, host=host)


def _refusal(refused: OutboundRefused, host: str) -> str:
    if refused.reason == "busy":
        return str(_l("Several connection tests are already running. Try again in a few seconds."))
    if refused.reason == "blocked":
        return str(_l("%(host)s is on a local or private network, which this instance does not reach.", host=host))
    if refused.status in (401, 403):
        return str(_l("%(host)s refused the API key (%(status)s).", host=host, status=refused.status))
    if refused.status is not None:
        return str(_l("%(host)s answered HTTP %(status)s.", host=host, status=refused.status))
    return str(_l("Could not get a model list from %(host)s.", host=host))


# --- Structured answers (the code review's LLM pass) ------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where and how to ask: a provider, its address, the model, the key (plain, in memory only)."""

    provider: str
    address: str
    model: str
    api_key: str = ""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: dict


@dataclass(frozen=True)
class Answer:
    content: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0
    tool_calls: tuple[ToolCall, ...] = ()


class ProviderFailed(Exception):
    """The provider could not be asked or did not answer properly. `kind` (timeout, status, blocked,
    busy, unreachable, too_large) is for callers; `detail` names the host and is for the log only."""

    def __init__(self, kind: str, detail: str, status: int | None = None):
        super().__init__(detail)
        self.kind, self.detail, self.status = kind, detail, status


MAX_ANSWER_BYTES = 2 * 1024 * 1024
CHAT_SLOTS = _Slots()  # LLM answers take long: they get their own allowance, apart from "Test connection"


def chat_json(target: Target, messages: list[dict], schema: dict, *, deadline: float, allow_private: bool,
              max_in_flight: int) -> Answer:
    """Ask for a JSON answer matching `schema`: OpenAI and LM Studio through the openai SDK
    (response_format json_schema), Ollama through its /api/chat (format = the schema)."""
    openai_options = {"temperature": 0, "response_format": {
        "type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}}}
    ollama_options = {"format": schema, "options": {"temperature": 0}}
    return _ask(target, messages, deadline=deadline, allow_private=allow_private, max_in_flight=max_in_flight,
                openai_options=openai_options, ollama_options=ollama_options)


def chat(target: Target, messages: list[dict], *, deadline: float, allow_private: bool, max_in_flight: int,
         temperature: float | None = None, max_tokens: int | None = None) -> Answer:
    """A free-text answer (RAG chat), with the caller's temperature and answer length when given."""
    openai_options = {k: v for k, v in (("temperature", temperature), ("max_tokens", max_tokens)) if v is not None}
    ollama_options = {"options": {k: v for k, v in (("temperature", temperature), ("num_predict", max_tokens))
                                  if v is not None}}
    return _ask(target, messages, deadline=deadline, allow_private=allow_private, max_in_flight=max_in_flight,
                openai_options=openai_options, ollama_options=ollama_options)


def chat_tools(target: Target, messages: list[dict], tools: list[dict], *, deadline: float, allow_private: bool,
               max_in_flight: int) -> Answer:
    """An answer that may call `tools` (function calling: JSON-schema functions): OpenAI and LM Studio
    through the openai SDK's `tools`, Ollama through /api/chat's `tools`."""
    wrapped = [{"type": "function", "function": tool} for tool in tools]
    return _ask(target, messages, deadline=deadline, allow_private=allow_private, max_in_flight=max_in_flight,
                openai_options={"tools": wrapped}, ollama_options={"tools": wrapped})


def tool_turn(target: Target, answer: Answer, results: list[str]) -> list[dict]:
    """The messages that carry on a conversation after `answer` called tools and they gave `results`,
    in the provider's own shape."""
    if target.provider == "ollama":
        return [{"role": "assistant", "content": answer.content, "tool_calls": [
            {"function": {"name": call.name, "arguments": call.arguments}} for call in answer.tool_calls]},
            *({"role": "tool", "content": result} for result in results)]
    return [{"role": "assistant", "content": answer.content or None, "tool_calls": [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": json.dumps(call.arguments)}}
        for call in answer.tool_calls]},
        *({"role": "tool", "tool_call_id": call.id, "content": result}
          for call, result in zip(answer.tool_calls, results))]


def _arguments(raw) -> dict:
    """A tool call's arguments: a JSON object (OpenAI sends it as text, Ollama as an object)."""
    try:
        value = json.loads(raw) if isinstance(raw, str) else raw
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _open(target: Target, allow_private: bool, max_in_flight: int) -> tuple[str, str]:
    """Check the address like "Test connection" does and take an in-flight slot (the caller gives
    it back): the base URL and its host (for the log)."""
    base = with_scheme(target.address) if target.provider == "ollama" else openai_compatible_base(target.address)
    host = _host(base)
    try:
        destination(base, allow_private=allow_private)
    except OutboundRefused:
        raise ProviderFailed("blocked", f"{host} is on a network this instance does not reach") from None
    if not CHAT_SLOTS.take(max_in_flight):
        raise ProviderFailed("busy", f"{max_in_flight} LLM requests already in flight")
    return base, host


def _ask(target: Target, messages: list[dict], *, deadline: float, allow_private: bool, max_in_flight: int,
         openai_options: dict, ollama_options: dict) -> Answer:
    """The address is checked like "Test connection"'s, redirects are not followed, the answer is
    capped, and the whole exchange has one deadline (under gevent; each read has it otherwise)."""
    base, host = _open(target, allow_private, max_in_flight)
    try:
        with _total_deadline(deadline):
            if target.provider == "ollama":
                return _ollama(target, base, messages, ollama_options, deadline)
            return _openai(target, base, messages, openai_options, deadline)
    except _DeadlinePassed:
        raise ProviderFailed("timeout", f"{host}: no answer within {deadline:g} s") from None
    finally:
        CHAT_SLOTS.give_back()


class _DeadlinePassed(Exception):
    pass


def _total_deadline(seconds: float):
    """gevent.Timeout for the whole exchange when the worker is gevent's; a no-op context otherwise."""
    from contextlib import nullcontext

    from gevent import Timeout, monkey

    return Timeout(seconds, _DeadlinePassed) if monkey.is_module_patched("socket") else nullcontext()


@contextlib.contextmanager
def _openai_failures(host: str, deadline: float):
    """The openai SDK's errors, and its HTTP client's while a stream is read (past the SDK's own
    handling), as ProviderFailed: timeout, status (with the HTTP status) or unreachable."""
    import httpx2 as httpx  # the HTTP client the openai SDK is built on (a fork of httpx)
    import openai

    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException):
        raise ProviderFailed("timeout", f"{host}: no answer within {deadline:g} s") from None
    except openai.APIStatusError as error:
        raise ProviderFailed("status", f"{host} answered HTTP {error.status_code}", error.status_code) from None
    except (openai.APIError, httpx.HTTPError) as error:
        raise ProviderFailed("unreachable", f"{host}: {error.__class__.__name__}") from None


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context per process: loading the system's CA certificates takes ~50 ms, which every
    request would otherwise pay (a question's vector is one request)."""
    return ssl.create_default_context()


def _openai(target: Target, base: str, messages: list[dict], options: dict, deadline: float) -> Answer:
    import openai  # the SDK is only loaded when a review asks an LLM

    host = _host(base)
    client = openai.OpenAI(base_url=base, api_key=target.api_key or "not-needed", timeout=deadline, max_retries=0,
                           http_client=openai.DefaultHttpxClient(follow_redirects=False, timeout=deadline,
                                                                 verify=_tls()))
    with _openai_failures(host, deadline), client:
        completion = client.chat.completions.create(model=target.model, messages=messages, **options)
    message = completion.choices[0].message if completion.choices else None
    content = (message.content or "") if message else ""
    if len(content.encode()) > MAX_ANSWER_BYTES:
        raise ProviderFailed("too_large", f"{host}: an answer over {MAX_ANSWER_BYTES} bytes")
    calls = tuple(ToolCall(call.id, call.function.name, _arguments(call.function.arguments))
                  for call in (message.tool_calls or []) if message and call.type == "function")
    usage = completion.usage
    return Answer(content=content, model=completion.model or target.model, tool_calls=calls,
                  tokens_in=usage.prompt_tokens if usage else 0, tokens_out=usage.completion_tokens if usage else 0)


@contextlib.contextmanager
def _ollama_failures(host: str, deadline: float, what: str):
    """requests' errors, and a body that is not what Ollama sends, as ProviderFailed."""
    import requests

    try:
        yield
    except requests.Timeout:
        raise ProviderFailed("timeout", f"{host}: no answer within {deadline:g} s") from None
    except requests.RequestException as error:
        raise ProviderFailed("unreachable", f"{host}: {error.__class__.__name__}") from None
    except (ValueError, KeyError, TypeError, AttributeError):
        raise ProviderFailed("unreachable", f"{host}: not an Ollama {what}") from None


def _ollama(target: Target, base: str, messages: list[dict], options: dict, deadline: float) -> Answer:
    import requests

    host = _host(base)
    with _ollama_failures(host, deadline, "chat answer"):
        with requests.post(f"{base}/api/chat", timeout=deadline, allow_redirects=False, stream=True, json={
                "model": target.model, "messages": messages, "stream": False, **options}) as response:
            if response.status_code != 200:
                raise ProviderFailed("status", f"{host} answered HTTP {response.status_code}", response.status_code)
            raw = response.raw.read(MAX_ANSWER_BYTES + 1, decode_content=True)
        if len(raw) > MAX_ANSWER_BYTES:
            raise ProviderFailed("too_large", f"{host}: an answer over {MAX_ANSWER_BYTES} bytes")
        body = json.loads(raw)
        calls = tuple(ToolCall(f"call_{n}", str(call["function"]["name"]),
                               _arguments(call["function"].get("arguments")))
                      for n, call in enumerate(body["message"].get("tool_calls") or []))
        return Answer(content=str(body["message"]["content"]), model=str(body.get("model") or target.model),
                      tool_calls=calls, tokens_in=int(body.get("prompt_eval_count") or 0),
                      tokens_out=int(body.get("eval_count") or 0))
