from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orbiter.core.schemas import Email, Name, RequestModel
from orbiter.models import Role
from orbiter.snapshots.schemas import SnapshotInsights, SnapshotRead
from orbiter.workspaces.schemas import WorkspaceListItem


class ProjectCreate(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)


class ProjectUpdate(RequestModel):
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = Field(default=None, max_length=10_000)

    @model_validator(mode="after")
    def _something_to_change(self) -> ProjectUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of name, description")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class ProjectRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    is_personal: bool
    role: Role = Field(description="The caller's role in this project")
    created_at: datetime
    updated_at: datetime


class EventRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    actor_id: uuid.UUID | None
    type: str
    data: dict[str, Any]
    created_at: datetime


class ProjectDetail(ProjectRead):
    member_count: int
    events: list[EventRead] = Field(description="The last 20 activity events, newest first")
    workspaces: list[WorkspaceListItem] = Field(
        description="Every workspace, oldest first, each with its latest drift report"
    )
    snapshots: list[SnapshotRead] = Field(description="The last 10 snapshots, newest first")
    snapshot_insights: SnapshotInsights


class ProjectStatus(BaseModel):
    last_snapshot_id: uuid.UUID | None
    updated_at: datetime
    last_activity: datetime | None


class MemberRead(BaseModel):
    user_id: uuid.UUID
    email: str
    name: str | None
    role: Role
    created_at: datetime


class InvitationRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    email: str
    role: Role
    invited_by: uuid.UUID | None = Field(description="The owner who invited")
    created_at: datetime
    expires_at: datetime = Field(description="Not accepted by then, the invitation lapses")


class ReceivedInvitation(InvitationRead):
    project_name: str
    invited_by_email: str | None


class MemberAdd(RequestModel):
    email: Email = Field(description="Invited; stored NFKC-normalised and in lower case")
    role: Role


class MemberUpdate(RequestModel):
    role: Role
