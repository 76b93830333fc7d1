from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orbiter.core.schemas import RequestModel

RunKind = Literal["agent", "workflow", "task", "action_item", "tool"]
RunStatus = Literal[
    "queued",
    "running",
    "awaiting_input",
    "awaiting_approval",
    "succeeded",
    "failed",
    "cancelled",
]
SpanType = Literal["run", "step", "llm", "tool", "retrieval", "node"]
TRUNCATED = (
    'Values over ORBITER_RUN_MAX_FIELD_BYTES are stored as {"truncated": true, "preview", "size"}'
)


class RunError(BaseModel):
    code: str = Field(
        description="An error code of the envelope, RUN_LIMIT_EXCEEDED, NODE_FAILED (a "
        "workflow node failed; the message names it), or APPROVAL_REJECTED "
        "(a run rejected at an approval gate)"
    )
    message: str


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    user_id: uuid.UUID | None
    kind: RunKind
    target_id: uuid.UUID | None = Field(description="The agent, workflow or tool run")
    target_version: str | None
    conversation_id: uuid.UUID | None
    status: RunStatus
    input: dict[str, Any]
    output: Any = Field(description=TRUNCATED)
    error: RunError | None
    attempts: int = Field(description="How many times a worker started the run")
    cancel_requested: bool
    tokens_in: int
    tokens_out: int
    cost: float | None = Field(
        description="USD from the price table; null when any LLM call of the run is unpriced"
    )
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


class SpanRead(BaseModel):
    id: uuid.UUID
    parent_id: uuid.UUID | None
    type: SpanType
    name: str
    model: str | None
    provider: str | None
    input: Any = Field(description=TRUNCATED)
    output: Any = Field(description=TRUNCATED)
    error: str | None
    tokens_in: int
    tokens_out: int
    cost: float | None = Field(description="USD; null for an unpriced model")
    status: Literal["open", "ok", "error"]
    started_at: datetime
    duration_ms: int | None
    children: list[SpanRead] = Field(default_factory=list)


class RunDetail(RunRead):
    trace: list[SpanRead] = Field(
        description="The run's spans as a tree (top-level spans here, in start order)"
    )


@dataclass(frozen=True)
class RunFilters:
    project_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    workflow_id: uuid.UUID | None = None
    status: str | None = None
    since: datetime | None = None
    until: datetime | None = None


class ApproveRequest(RequestModel):
    comment: str | None = Field(default=None, max_length=2000, description="Why, for the record")
    payload: Any = Field(
        default=None,
        description="An edited version of what the gate asked to approve; the run goes on "
        "with it instead of the original",
    )


class RejectRequest(RequestModel):
    reason: str | None = Field(
        default=None, max_length=2000, description="Why; kept as the run's error message"
    )
