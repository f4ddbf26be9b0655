"""Ask a provider which models it offers ("Test connection"): GET /v1/models (OpenAI, LM Studio)
or /api/tags (Ollama), through webapp/outbound.py's checked, deadline-bound requests."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask_babel import lazy_gettext as _l

from webapp.outbound import OutboundRefused, get_json


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
