"""Ask a provider which models it offers ("Test connection"): the openai SDK or Ollama's /api/tags."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import openai
import requests
from flask_babel import lazy_gettext as _l

TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Probe:
    ok: bool
    models: tuple[str, ...] = ()
    message: str = ""
    host: str = ""


def openai_compatible_base(url: str) -> str:
    """LM Studio is configured as "localhost:1234" (spec 000); the SDK wants http://localhost:1234/v1."""
    url = url.strip().rstrip("/")
    if "://" not in url:
        url = f"http://{url}"
    return url if urlsplit(url).path.endswith("/v1") else f"{url}/v1"


def _host(url: str) -> str:
    return urlsplit(url if "://" in url else f"http://{url}").netloc


def list_models(provider: str, address: str, api_key: str = "") -> Probe:
    """Never raises: every failure becomes a message a person can act on."""
    if not address:
        return Probe(False, message=str(_l("Enter the address first.")))
    if provider == "ollama":
        return _ollama(address)
    return _openai(openai_compatible_base(address), api_key)


def _openai(base_url: str, api_key: str) -> Probe:
    host = _host(base_url)
    client = openai.OpenAI(api_key=api_key or "not-needed", base_url=base_url, timeout=TIMEOUT_SECONDS, max_retries=0)
    try:
        models = tuple(sorted(model.id for model in client.models.list()))
    except openai.AuthenticationError:
        return Probe(False, message=str(_l("%(host)s refused the API key (401).", host=host)), host=host)
    except openai.APITimeoutError:
        return Probe(False, message=str(_l("%(host)s did not answer within %(seconds)s seconds.", host=host,
                                           seconds=int(TIMEOUT_SECONDS))), host=host)
    except openai.APIConnectionError:
        return Probe(False, message=str(_l("Could not connect to %(host)s.", host=host)), host=host)
    except openai.APIStatusError as error:
        return Probe(False, message=str(_l("%(host)s answered HTTP %(status)s.", host=host,
                                           status=error.status_code)), host=host)
    except openai.OpenAIError:
        return Probe(False, message=str(_l("%(host)s did not answer like an OpenAI-compatible server.", host=host)),
                     host=host)
    finally:
        client.close()
    return Probe(True, models=models, host=host)


def _ollama(endpoint: str) -> Probe:
    endpoint = endpoint.strip().rstrip("/")
    host = _host(endpoint)
    try:
        response = requests.get(f"{endpoint}/api/tags", timeout=TIMEOUT_SECONDS)
    except requests.Timeout:
        return Probe(False, message=str(_l("%(host)s did not answer within %(seconds)s seconds.", host=host,
                                           seconds=int(TIMEOUT_SECONDS))), host=host)
    except requests.RequestException:
        return Probe(False, message=str(_l("Could not connect to %(host)s.", host=host)), host=host)
    if response.status_code != 200:
        return Probe(False, message=str(_l("%(host)s answered HTTP %(status)s.", host=host,
                                           status=response.status_code)), host=host)
    try:
        models = tuple(sorted(str(m["name"]) for m in response.json()["models"]))
    except (ValueError, KeyError, TypeError):
        return Probe(False, message=str(_l("%(host)s did not answer like an Ollama server.", host=host)), host=host)
    return Probe(True, models=models, host=host)
