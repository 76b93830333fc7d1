from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from orbiter.core.schemas import RequestModel, has_control_characters
from orbiter.infrastructure.deploy.schemas import DeploymentStatus

MAX_TITLE = 300
MAX_CONTENT = 100_000
MessageStatus = Literal["complete", "streaming", "incomplete", "error"]


_ORDINARY_WHITESPACE = {ord("\t"): " ", ord("\n"): " ", ord("\r"): " "}


def _clean_title(value: str | None) -> str | None:
    if value is None:
        return None
    if has_control_characters(value.translate(_ORDINARY_WHITESPACE)):
        raise ValueError("title must not contain control characters")
    value = " ".join(value.split())  # tabs and newlines become single spaces
    if not value:
        raise ValueError("title must not be blank")
    return value


class ConversationCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    workspace_id: uuid.UUID | None = Field(
        default=None, description="A workspace of the same project"
    )
    agent_id: uuid.UUID | None = Field(
        default=None,
        description="An agent of the same project: each message then runs it, and its run "
        "writes the reply (tool calls and results in the message's parts)",
    )
    title: str | None = Field(default=None, max_length=MAX_TITLE)

    _title = field_validator("title")(_clean_title)


class ConversationUpdate(RequestModel):
    title: str | None = Field(default=None, max_length=MAX_TITLE)
    workspace_id: uuid.UUID | None = Field(
        default=None, description="Move to another workspace of the same project; null detaches"
    )

    _title = field_validator("title")(_clean_title)

    @model_validator(mode="after")
    def _something_to_change(self) -> ConversationUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of title, workspace_id")
        return self


class ConversationRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    workspace_id: uuid.UUID | None
    workspace_name: str | None
    agent_id: uuid.UUID | None
    user_id: uuid.UUID | None = Field(description="Who started it")
    title: str | None
    provider_id: uuid.UUID | None
    model: str | None
    created_at: datetime
    updated_at: datetime


class MessageCreate(RequestModel):
    content: str = Field(
        min_length=1,
        max_length=MAX_CONTENT,
        validation_alias=AliasChoices("content", "prompt"),
        description="The user's message (`prompt` is accepted as an alias)",
    )
    provider_id: uuid.UUID | None = Field(
        default=None, description="One of the caller's providers; default: their default one"
    )
    model: str | None = Field(
        default=None, min_length=1, max_length=200, description="Default: the provider's first"
    )

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("content must not be blank")
        return value


class MessageRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    conversation_id: uuid.UUID
    role: str
    content: str
    parts: list[dict[str, Any]]
    status: MessageStatus
    error: str | None
    provider_id: uuid.UUID | None
    model: str | None
    prompt_tokens: int | None
    completion_tokens: int | None
    user_id: uuid.UUID | None
    run_id: uuid.UUID | None = Field(
        default=None, description="An agent's reply: the run writing it (GET /runs/{id})"
    )
    created_at: datetime


class Exchange(BaseModel):
    user_message: MessageRead
    assistant_message: MessageRead


class MessageParts(BaseModel):
    message_id: uuid.UUID
    role: str
    created_at: datetime
    parts: list[dict[str, Any]] = Field(
        description="`{type: text, text}`, `{type: tool_call, id, name, arguments}`, "
        "`{type: tool_result, tool_call_id, name, output, error}` (an agent's tool calls), "
        "`{type: question, request_id, questions, status, answers?}` (an agent asking)"
    )


class TimelineEntry(BaseModel):
    kind: Literal["message", "tool_call", "snapshot", "deployment"]
    id: str = Field(description="The message's, tool call's, snapshot's or deployment's id")
    at: datetime
    message_id: uuid.UUID | None = Field(default=None, description="Messages and tool calls")
    role: str | None = Field(default=None, description="Messages and tool calls")
    status: MessageStatus | DeploymentStatus | None = Field(
        default=None, description="A message's or a deployment's status"
    )
    content: str | None = None
    name: str | None = Field(default=None, description="Tool name (tool calls)")
    arguments: str | None = Field(default=None, description="JSON arguments (tool calls)")
    message: str | None = Field(default=None, description="The snapshot's message or summary")
    manifest_hash: str | None = Field(default=None, description="Snapshots and deployments")
    url: str | None = Field(default=None, description="The deployment's URL, once live")
    trigger: str | None = Field(default=None, description="What started the deployment")


class Cleared(BaseModel):
    cleared: int = Field(description="How many messages were deleted")


class ProjectSummary(BaseModel):
    id: uuid.UUID
    name: str
    is_personal: bool
    role: str = Field(description="The caller's role in the project")


class WorkspaceSummary(BaseModel):
    id: uuid.UUID
    name: str
    is_main: bool
    current_manifest_hash: str | None
    last_seen_at: datetime | None


class ManifestSummary(BaseModel):
    hash: str
    file_count: int
    total_bytes: int


class ProjectInfo(BaseModel):
    conversation_id: uuid.UUID
    project: ProjectSummary
    workspace: WorkspaceSummary | None
    manifest: ManifestSummary | None = Field(
        description="The workspace's current manifest, when it has one"
    )


class QuestionReply(RequestModel):
    answers: list[
        Annotated[list[Annotated[str, Field(max_length=10_000)]], Field(max_length=50)]
    ] = Field(
        max_length=20,
        description="One list per question, in the order asked: the chosen options, or free text",
        examples=[[["Paris"]]],
    )
