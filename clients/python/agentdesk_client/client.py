"""Fetch a user's LLM settings with retries, a TTL cache and an environment fallback."""

from __future__ import annotations

import logging
import os
import time
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import quote

import requests
import yaml

from agentdesk_client.cache import LLMConfigCache
from agentdesk_client.errors import (
    AuthenticationError,
    ConfigNotFoundError,
    ForbiddenError,
    InvalidRequestError,
    RateLimitedError,
    ServerError,
    UnreachableError,
    UserManagementAPIError,
    UserNotFoundError,
)

logger = logging.getLogger("agentdesk_client")
RETRY_STATUSES = {429, 500, 502, 503, 504}
DEFAULT_BASE_URL = "https://api.coding-agent.example.com/v1"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class AgentDeskClient:
    """Spec 000's `_fetch_llm_config_from_api`, as a reusable object.

    base_url and token default to USER_MANAGEMENT_API_URL and USER_MANAGEMENT_API_TOKEN (§6.2).
    """

    def __init__(self, base_url: str | None = None, token: str | None = None, *, timeout: float = 10,
                 retries: int = 3, backoff: float = 1.0, max_retry_wait: float = 60, cache_ttl: float = 3600,
                 fallback: bool = True, env: Mapping[str, str] | None = None,
                 session: requests.Session | None = None, sleep=time.sleep):
        self.env = os.environ if env is None else env
        self.base_url = (base_url or self.env.get("USER_MANAGEMENT_API_URL") or DEFAULT_BASE_URL).rstrip("/")
        self.token = token or self.env.get("USER_MANAGEMENT_API_TOKEN")
        if not self.token:
            raise UserManagementAPIError("USER_MANAGEMENT_API_TOKEN is not set")
        self.timeout, self.retries, self.backoff, self.max_retry_wait = timeout, retries, backoff, max_retry_wait
        self.fallback = fallback
        self.cache = LLMConfigCache(ttl=cache_ttl)
        self.session = session or requests.Session()
        self._sleep = sleep

    def fetch_llm_config(self, platform: str, username: str, *, include_system_prompt: bool = True,
                         use_cache: bool = True) -> dict[str, Any]:
        """spec 000 `data` for platform:username; typed errors for 4xx; env fallback if unreachable."""
        key = f"{platform}:{username}:{int(include_system_prompt)}"
        if use_cache and (cached := self.cache.get(key)) is not None:
            logger.info("Using cached LLM config for %s:%s", platform, username)
            return cached
        try:
            data = self._get(f"/users/{quote(platform, safe='')}/{quote(username, safe='')}/llm-config",
                             {"include_system_prompt": str(include_system_prompt).lower()})
        except (UnreachableError, ServerError) as error:
            if not self.fallback:
                raise
            logger.warning("Failed to fetch LLM config from API, using environment fallback: %s", error)
            return {"llm_config": build_fallback_llm_config(self.env), "fallback": True}
        self.cache.set(key, data)
        return data

    def _get(self, path: str, params: dict) -> dict:
        url = f"{self.base_url}{path}"
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        attempt = 0
        while True:
            try:
                response = self.session.get(url, params=params, headers=headers, timeout=self.timeout)
            except requests.RequestException as error:
                if attempt >= self.retries:
                    raise UnreachableError(f"Network error: {error}") from error
                self._sleep(self.backoff * 2 ** attempt)
                attempt += 1
                continue
            if response.status_code not in RETRY_STATUSES:
                return self._parse(response)
            wait = _retry_after(response)
            wait = self.backoff * 2 ** attempt if wait is None else wait
            if attempt >= self.retries or wait > self.max_retry_wait:
                raise self._error(response, wait)
            self._sleep(wait)
            attempt += 1

    @staticmethod
    def _body(response: requests.Response) -> dict:
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def _parse(self, response: requests.Response) -> dict:
        body = self._body(response)
        if response.status_code == 200 and body.get("status") == "success":
            return body["data"]
        raise self._error(response, None)

    def _error(self, response: requests.Response, wait: float | None) -> UserManagementAPIError:
        error = self._body(response).get("error") or {}
        code, status = error.get("code"), response.status_code
        message = error.get("message") or f"HTTP {status}"
        kwargs = {"status": status, "code": code, "details": error.get("details")}
        if status == 429:
            return RateLimitedError(message, retry_after=error.get("retry_after", wait), **kwargs)
        if status >= 500:
            return ServerError(message, **kwargs)
        if status == 404:
            cls = {"CONFIG_NOT_FOUND": ConfigNotFoundError, "USER_NOT_FOUND": UserNotFoundError}.get(
                code, UserManagementAPIError)
        else:
            cls = {400: InvalidRequestError, 401: AuthenticationError, 403: ForbiddenError}.get(
                status, UserManagementAPIError)
        return cls(message, **kwargs)


def build_fallback_llm_config(env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """spec 000 §6.3: the LLM settings from environment variables, for when the API is out of reach."""
    env = os.environ if env is None else env
    provider = env.get("LLM_PROVIDER", "openai")
    config: dict[str, Any] = {"provider": provider,
                              "function_calling": env.get("FUNCTION_CALLING", "true").lower() == "true"}
    if provider == "openai":
        config["openai"] = {"api_key": env.get("OPENAI_API_KEY", ""),
                            "base_url": env.get("OPENAI_BASE_URL", "https://api.openai.com/v1"),
                            "model": env.get("OPENAI_MODEL", "gpt-4o"),
                            "max_token": int(env.get("OPENAI_MAX_TOKEN", "40960"))}
    elif provider == "lmstudio":
        config["lmstudio"] = {"base_url": env.get("LMSTUDIO_BASE_URL", "localhost:1234"),
                              "context_length": int(env.get("LMSTUDIO_CONTEXT_LENGTH", "32768")),
                              "model": env.get("LMSTUDIO_MODEL", "")}
    elif provider == "ollama":
        config["ollama"] = {"endpoint": env.get("OLLAMA_ENDPOINT", "http://localhost:11434"),
                            "model": env.get("OLLAMA_MODEL", ""),
                            "max_token": int(env.get("OLLAMA_MAX_TOKEN", "32768"))}
    return config


def load_config(config_file: str | Path = "config.yaml", *, env: Mapping[str, str] | None = None,
                client: AgentDeskClient | None = None) -> dict[str, Any]:
    """spec 000 §6.1: read config.yaml and, with USE_USER_MANAGEMENT_API=true, replace its `llm`,
    `system_prompt` and `max_llm_process_num` with the user's settings from AgentDesk."""
    env = os.environ if env is None else env
    with Path(config_file).open(encoding="utf-8") as fh:
        config = yaml.safe_load(fh) or {}
    if env.get("USE_USER_MANAGEMENT_API", "false").lower() != "true":
        return config
    task_source = env.get("TASK_SOURCE", "github")
    if task_source not in ("github", "gitlab"):
        raise ValueError(f"Unknown task source: {task_source}")
    username = (config.get(task_source) or {}).get("owner", "")
    data = (client or AgentDeskClient(env=env)).fetch_llm_config(task_source, username)
    config["llm"] = data["llm_config"]
    if "system_prompt" in data:
        config["system_prompt"] = data["system_prompt"]
    if "max_llm_process_num" in data:
        config["max_llm_process_num"] = data["max_llm_process_num"]
    return config
