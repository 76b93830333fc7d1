"""Agents: what callers send and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import Name, RequestModel

MAX_INSTRUCTIONS = 100_000
MAX_INPUT = 100_000
MAX_STEPS = 100  # the settings' ORBITER_RUN_MAX_STEPS caps it further at run time

AgentName = Annotated[Name, Field(min_length=1, max_length=200)]
Instructions = Annotated[str, Field(min_length=1, max_length=MAX_INSTRUCTIONS)]
ModelName = Annotated[str, Field(min_length=1, max_length=200)]
ToolRef = Annotated[str, Field(min_length=1, max_length=64)]
TOOL_IDS = (
    "Tools the agent may call: built-in names (`calculator`, `current_time`, `http_request`, "
    "`ask_user`) and ids of custom tools of the agent's project"
)
PROVIDER = (
    "One of the caller's providers. Runs use it when the running user owns it, else the "
    "running user's default provider (with that provider's default model)"
)


class AgentCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: AgentName
    description: str | None = Field(default=None, max_length=2000)
    instructions: Instructions = Field(description="The system prompt")
    provider_id: uuid.UUID | None = Field(default=None, description=PROVIDER)
    model: ModelName | None = Field(default=None, description="Default: the provider's first model")
    tool_ids: list[ToolRef] = Field(default_factory=list, max_length=64, description=TOOL_IDS)
    knowledge_base_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=64,
        description="Knowledge bases of the agent's project; the agent is offered the "
        "`knowledge_search` tool over them",
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_steps: int | None = Field(
        default=None,
        ge=1,
        le=MAX_STEPS,
        description="Model turns per run; default and upper bound: ORBITER_RUN_MAX_STEPS",
    )


class AgentUpdate(RequestModel):
    """Fields not sent keep their value; `description`, `provider_id`, `model`, `temperature`
    and `max_steps` may be set to null."""

    name: AgentName | None = None
    description: str | None = Field(default=None, max_length=2000)
    instructions: Instructions | None = None
    provider_id: uuid.UUID | None = Field(default=None, description=PROVIDER)
    model: ModelName | None = None
    tool_ids: list[ToolRef] | None = Field(default=None, max_length=64, description=TOOL_IDS)
    knowledge_base_ids: list[uuid.UUID] | None = Field(default=None, max_length=64)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_steps: int | None = Field(default=None, ge=1, le=MAX_STEPS)

    @model_validator(mode="after")
    def _something_to_change(self) -> AgentUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in ("name", "instructions", "tool_ids", "knowledge_base_ids"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AgentRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    name: str
    description: str | None
    instructions: str
    provider_id: uuid.UUID | None
    model: str | None
    tool_ids: list[str]
    knowledge_base_ids: list[uuid.UUID]
    temperature: float | None
    max_steps: int | None
    version: int = Field(description="Grows with every change; each run records the version")
    created_at: datetime
    updated_at: datetime


class AgentRunRequest(RequestModel):
    input: str = Field(min_length=1, max_length=MAX_INPUT, description="The user's request")
    conversation_id: uuid.UUID | None = Field(
        default=None,
        description="A conversation of the agent's project: the run replies there (its "
        "history is the context, its stream shows the run, questions are answered there)",
    )
