"""Spec 000's requests and answers as pydantic models: they validate the input, and the OpenAPI
document is generated from them."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from webapp.accounts.logins import LOGIN_PATTERN

Platform = Literal["github", "gitlab"]


class UserPath(BaseModel):
    """`/{platform}/{username}`: each failure has its own spec code (INVALID_PLATFORM, INVALID_USERNAME)."""

    platform: Platform = Field(description="github or gitlab", examples=["github"])
    username: str = Field(description="The login on that platform", examples=["notfolder"], max_length=255,
                          pattern=LOGIN_PATTERN)


class MaskQuery(BaseModel):
    mask_api_key: bool = Field(default=False, description="Return provider API keys masked (sk-proj-****...abcd)")


class LLMConfigQuery(MaskQuery):
    include_system_prompt: bool = Field(default=True, description="Include system_prompt in the answer")


class UserRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Loose here so that a bad entry gets its own spec code from the view; the published schema is exact.
    platform: str = Field(description="github or gitlab", examples=["github"],
                          json_schema_extra={"enum": ["github", "gitlab"]})
    username: str = Field(description="The login on that platform", examples=["notfolder"], max_length=255,
                          json_schema_extra={"pattern": LOGIN_PATTERN})


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserRef] = Field(min_length=1, max_length=100)
    include_system_prompt: bool = True


# --- Responses (spec 000). The hot path builds plain dicts; these describe them for OpenAPI and
# the schemathesis test checks every answer against them.

class OpenAIConfig(BaseModel):
    api_key: str = Field(description="Plaintext, or masked (sk-proj-****...abcd) with mask_api_key=true")
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
