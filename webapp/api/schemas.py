"""Request schemas for the machine APIs (pydantic); the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webapp.accounts.identities import LOGIN_RE


# Validation stays loose where the spec wants a specific error code (INVALID_PLATFORM,
# INVALID_USERNAME from the view); the published schema is exact.
PLATFORM_SCHEMA = {"enum": ["github", "gitlab"]}
USERNAME_SCHEMA = {"pattern": LOGIN_RE.pattern}


class UserRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="github or gitlab", examples=["github"], json_schema_extra=PLATFORM_SCHEMA)
    username: str = Field(description="The login on that platform", examples=["notfolder"], max_length=255,
                          json_schema_extra=USERNAME_SCHEMA)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserRef] = Field(min_length=1, max_length=100)
    include_system_prompt: bool = True


# --- Responses (spec 000). The hot path builds plain dicts; these describe them for OpenAPI and
# the schemathesis test checks every answer against them.

class OpenAIConfig(BaseModel):
    api_key: str = Field(description="Plaintext, or masked (sk-proj-****…abcd) with mask_api_key=true")
    base_url: str
    model: str
    max_token: int


class LMStudioConfig(BaseModel):
    base_url: str = Field(examples=["localhost:1234"])
    context_length: int
    model: str


class OllamaConfig(BaseModel):
    endpoint: str
    model: str
    max_token: int


class LLMConfig(BaseModel):
    provider: Literal["openai", "lmstudio", "ollama"]
    function_calling: bool
    openai: OpenAIConfig | None
    lmstudio: LMStudioConfig | None
    ollama: OllamaConfig | None


class UserLLMConfig(BaseModel):
    user_id: str = Field(examples=["github:notfolder"], description="platform:username")
    platform: Literal["github", "gitlab"]
    username: str
    llm_config: LLMConfig
    system_prompt: str = Field(default=None, description="Omitted when include_system_prompt=false")
    max_llm_process_num: int
    created_at: str | None = Field(json_schema_extra={"format": "date-time"})
    updated_at: str | None = Field(json_schema_extra={"format": "date-time"})


class LLMConfigResponse(BaseModel):
    status: Literal["success"]
    data: UserLLMConfig


class BatchData(BaseModel):
    configs: list[UserLLMConfig]
    not_found: list[str] = Field(description="platform:username of each requested user without settings")


class BatchResponse(BaseModel):
    status: Literal["success"]
    data: BatchData


class LegacyConfigData(BaseModel):
    llm: LLMConfig
    system_prompt: str
    max_llm_process_num: int


class LegacyConfigResponse(BaseModel):
    status: Literal["success"]
    data: LegacyConfigData


class ErrorDetail(BaseModel):
    code: str = Field(examples=["USER_NOT_FOUND"])
    message: str
    details: dict | None = None
    retry_after: int = Field(default=None, description="Seconds to wait; only with RATE_LIMIT_EXCEEDED")


class ErrorResponse(BaseModel):
    status: Literal["error"]
    error: ErrorDetail


class HealthResponse(BaseModel):
    status: Literal["healthy", "unhealthy"]
    components: dict[str, str]
