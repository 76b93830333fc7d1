"""Deployments: what callers send and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import Name, RequestModel

TargetType = Literal["agent", "workflow", "workspace"]
DeploymentName = Annotated[Name, Field(min_length=1, max_length=200)]
Environment = Annotated[Name, Field(min_length=1, max_length=64)]
CONFIG = "Free-form settings of the deployment, kept as sent (a JSON object)"


class DeploymentCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: DeploymentName
    target_type: TargetType = Field(
        description="`agent` or `workflow`; `workspace` comes with the sync and deploy issue"
    )
    target_id: uuid.UUID = Field(description="An agent or workflow of the same project")
    environment: Environment = "production"
    config: dict[str, Any] = Field(default_factory=dict, description=CONFIG)


class DeploymentUpdate(RequestModel):
    """Fields not sent keep their value. The target cannot change: deploy another one."""

    name: DeploymentName | None = None
    environment: Environment | None = None
    config: dict[str, Any] | None = Field(default=None, description=CONFIG)

    @model_validator(mode="after")
    def _something_to_change(self) -> DeploymentUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class DeploymentRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None = Field(description="Runs started with the key run as this user")
    name: str
    target_type: TargetType
    target_id: uuid.UUID
    target_version: str = Field(
        description="What invoking runs: the workflow version's content hash, or the agent's "
        "version number"
    )
    pinned: dict[str, Any] = Field(
        description="The pinned version: a workflow's `version` number; an agent's settings "
        "(name, instructions, model, provider_id, temperature, tool_ids, max_steps)"
    )
    environment: str
    config: dict[str, Any]
    key_prefix: str | None = Field(description="The first characters of the deployment key")
    key_active: bool = Field(description="Whether a key is set and not revoked")
    key_revoked_at: datetime | None
    last_invoked_at: datetime | None
    created_at: datetime
    updated_at: datetime


class DeploymentCreated(DeploymentRead):
    key: str = Field(
        description="The deployment key (`odk_...`): send it as `X-API-Key` to "
        "`POST /deployments/{id}/invoke`. Shown in this response only."
    )


class InvokeRequest(RequestModel):
    inputs: dict[str, Any] = Field(
        default_factory=dict,
        description="A workflow's run inputs (`{{ inputs.name }}`); for an agent, `input` is "
        "the message it answers",
    )
