"""AgentDesk client for coding agents (spec 000 §6–7).

    from agentdesk_client import AgentDeskClient, load_config
    client = AgentDeskClient("https://agentdesk.example.com/v1", token="adk_svc_…")
    data = client.fetch_llm_config("github", "notfolder")   # spec 000 `data`
    config = load_config("config.yaml")                      # §6.1: merged into config.yaml's dict
"""

from agentdesk_client.cache import LLMConfigCache
from agentdesk_client.client import AgentDeskClient, build_fallback_llm_config, load_config
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

__all__ = [
    "AgentDeskClient", "LLMConfigCache", "load_config", "build_fallback_llm_config", "UserManagementAPIError",
    "AuthenticationError", "ForbiddenError", "UserNotFoundError", "ConfigNotFoundError", "InvalidRequestError",
    "RateLimitedError", "ServerError", "UnreachableError",
]
