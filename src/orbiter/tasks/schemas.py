"""Task bodies: the request as the seed's clients send it (camelCase), the task as API.md
names it (`branch_name`, `sandbox_url`)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from orbiter.core.schemas import RequestModel

TaskStatus = Literal["pending", "processing", "completed", "failed", "cancelled"]
# A task's status is its run's, named as tasks name them.
STATUS_OF_RUN: dict[str, TaskStatus] = {
    "queued": "pending",
    "running": "processing",
    "awaiting_input": "processing",
    "awaiting_approval": "processing",
    "succeeded": "completed",
    "failed": "failed",
    "cancelled": "cancelled",
}
RUN_STATUSES_OF: dict[str, list[str]] = {}
for _run, _task in STATUS_OF_RUN.items():
    RUN_STATUSES_OF.setdefault(_task, []).append(_run)


class TaskCreate(RequestModel):
    prompt: str = Field(min_length=1, max_length=20_000, description="What the agent should do")
    repoUrl: str = Field(
        min_length=1,
        max_length=2048,
        description="https:// URL of the git repository (public hosts only)",
    )
    selectedAgent: str | None = Field(
        default=None,
        max_length=255,
        description="One of your LLM providers, by id, name or type (default: your default one)",
    )
    selectedModel: str | None = Field(
        default=None,
        max_length=255,
        description="A model of that provider (one it lists, when it lists models); default: "
        "its first",
    )


class TaskLogLine(BaseModel):
    seq: int = Field(description="1, 2, ... (the `id` of the line in the logs stream)")
    type: Literal["info", "command", "error", "success"]
    message: str
    created_at: datetime


class TaskRead(BaseModel):
    id: uuid.UUID
    prompt: str
    repo_url: str
    selected_agent: str | None
    selected_model: str | None
    provider_id: uuid.UUID | None = Field(description="The LLM provider the agent runs on")
    model: str
    status: TaskStatus
    progress: int = Field(ge=0, le=100)
    error: str | None = Field(description="Why it failed (git's message for clone failures)")
    branch_name: str | None = Field(description="Set once the agent's changes are committed")
    commit_sha: str | None
    pushed: bool = Field(description="Whether the branch was pushed to the repository")
    sandbox_url: str | None = Field(
        description="The task's sandbox (`GET` it; `POST /terminal` runs commands in it until "
        "it expires)"
    )
    run_id: uuid.UUID = Field(description="The task's run: its trace (`GET /runs/{id}`)")
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None


class TaskDetail(TaskRead):
    logs: list[TaskLogLine]


class TaskMessage(BaseModel):
    message: str


class TasksDeleted(BaseModel):
    message: str
    deletedCount: int
