"""The LLM settings fields, declared once: forms, storage, inheritance and the API all read this."""

from __future__ import annotations

from dataclasses import dataclass

PROVIDERS = ("openai", "lmstudio", "ollama")


@dataclass(frozen=True)
class Field:
    name: str  # column name on LLMConfig
    key: str  # key in spec 000's JSON
    provider: str | None  # None: common to every provider
    kind: str  # "str", "int", "bool", "text", "secret", "url"
    builtin: object = None  # value when neither the user nor the instance default sets it


FIELDS = (
    Field("provider", "provider", None, "choice", None),
    Field("function_calling", "function_calling", None, "bool", True),
    Field("system_prompt", "system_prompt", None, "text", ""),
    Field("max_llm_process_num", "max_llm_process_num", None, "int", 1000),
    Field("openai_api_key", "api_key", "openai", "secret", ""),
    Field("openai_base_url", "base_url", "openai", "url", "https://api.openai.com/v1"),
    Field("openai_model", "model", "openai", "str", "gpt-4o"),
    Field("openai_max_token", "max_token", "openai", "int", 40960),
    Field("lmstudio_base_url", "base_url", "lmstudio", "url", "localhost:1234"),
    Field("lmstudio_context_length", "context_length", "lmstudio", "int", 32768),
    Field("lmstudio_model", "model", "lmstudio", "str", ""),
    Field("ollama_endpoint", "endpoint", "ollama", "url", "http://localhost:11434"),
    Field("ollama_model", "model", "ollama", "str", ""),
    Field("ollama_max_token", "max_token", "ollama", "int", 32768),
)
BY_NAME = {f.name: f for f in FIELDS}
COMMON = tuple(f for f in FIELDS if f.provider is None)


_BY_PROVIDER: dict[str | None, tuple[Field, ...]] = {}
for _field in FIELDS:
    _BY_PROVIDER[_field.provider] = (*_BY_PROVIDER.get(_field.provider, ()), _field)


def provider_fields(provider: str | None) -> tuple[Field, ...]:
    return _BY_PROVIDER.get(provider, ())  # grouped once: asked for on every agent call


# The field whose change invalidates a stored key: a key is only ever sent to the host it was saved for.
KEY_HOST_FIELD = {"openai": "openai_base_url"}
SECRET_FIELDS = tuple(f.name for f in FIELDS if f.kind == "secret")
