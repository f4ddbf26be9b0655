"""Ask a provider which models it offers ("Test connection"): GET /v1/models (OpenAI, LM Studio)
or /api/tags (Ollama), through webapp/outbound.py's checked, deadline-bound requests."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from webapp.outbound import OutboundRefused, destination, get_json


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
    return urlsplit(url if "://" in url else f"http://{url}").netloc


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
class Answer:
    content: str
    model: str
    tokens_in: int = 0
    tokens_out: int = 0


class ProviderFailed(Exception):
    """The provider could not be asked or did not answer in time; `reason` says which, for a person."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def chat_json(target: Target, messages: list[dict], schema: dict, *, deadline: float, allow_private: bool) -> Answer:
    """Ask for a JSON answer matching `schema`: OpenAI and LM Studio through the openai SDK
    (response_format json_schema), Ollama through its /api/chat (format = the schema)."""
    import openai  # the SDK is only loaded when a review asks an LLM
    import requests

    base = with_scheme(target.address) if target.provider == "ollama" else openai_compatible_base(target.address)
    host = _host(base)
    try:
        destination(base, allow_private=allow_private)
    except OutboundRefused:
        raise ProviderFailed(str(_l("%(host)s is on a local or private network, which this instance does not reach.",
                                    host=host))) from None
    try:
        if target.provider == "ollama":
            response = requests.post(f"{base}/api/chat", timeout=deadline, json={
                "model": target.model, "messages": messages, "format": schema, "stream": False,
                "options": {"temperature": 0}})
            response.raise_for_status()
            body = response.json()
            return Answer(content=body["message"]["content"], model=body.get("model") or target.model,
                          tokens_in=int(body.get("prompt_eval_count") or 0), tokens_out=int(body.get("eval_count") or 0))
        client = openai.OpenAI(base_url=base, api_key=target.api_key or "not-needed", timeout=deadline, max_retries=0)
        completion = client.chat.completions.create(
            model=target.model, messages=messages, temperature=0,
            response_format={"type": "json_schema", "json_schema": {"name": "review", "schema": schema, "strict": True}})
        usage = completion.usage
        return Answer(content=completion.choices[0].message.content or "", model=completion.model or target.model,
                      tokens_in=usage.prompt_tokens if usage else 0, tokens_out=usage.completion_tokens if usage else 0)
    except (openai.APITimeoutError, requests.Timeout):
        raise ProviderFailed(str(_l("%(host)s did not answer within %(seconds)s seconds.", host=host,
                                    seconds=round(deadline)))) from None
    except (openai.APIStatusError, requests.HTTPError) as error:
        status = getattr(error, "status_code", None) or getattr(getattr(error, "response", None), "status_code", "?")
        raise ProviderFailed(str(_l("%(host)s answered HTTP %(status)s.", host=host, status=status))) from None
    except (openai.APIError, requests.RequestException, ValueError, KeyError, TypeError, IndexError):
        raise ProviderFailed(str(_l("Could not get an answer from %(host)s.", host=host))) from None
