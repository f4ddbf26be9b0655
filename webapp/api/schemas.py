"""Request schemas for the machine APIs (pydantic); the OpenAPI document is generated from these."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UserRef(BaseModel):
    model_config = ConfigDict(extra="forbid")

    platform: str = Field(description="github or gitlab", examples=["github"])
    username: str = Field(description="The login on that platform", examples=["notfolder"], max_length=255)


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    users: list[UserRef] = Field(min_length=1, max_length=100)
    include_system_prompt: bool = True
