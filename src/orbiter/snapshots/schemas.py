from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from orbiter.core.schemas import RequestModel

HASH_PATTERN = r"^[0-9a-f]{64}$"
SOURCE_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
MAX_PARENTS = 16


class SnapshotCreate(RequestModel):
    manifest_hash: str = Field(
        pattern=HASH_PATTERN, description="SHA-256 of a manifest the caller uploaded"
    )
    snapshot_id: uuid.UUID | None = Field(
        default=None,
        description="Client-chosen id: sending the same id again returns the existing snapshot",
    )
    parent_snapshot_ids: list[uuid.UUID] = Field(
        default_factory=list,
        max_length=MAX_PARENTS,
        description="Snapshots of the same project this one descends from (merges have two)",
    )
    workspace_id: uuid.UUID | None = Field(
        default=None, description="The project workspace it was taken in"
    )
    source: str | None = Field(
        default=None,
        pattern=SOURCE_PATTERN,
        description="Where it came from: cli (default), web, ci, chat, sync, ...",
    )
    message: str | None = Field(default=None, max_length=10_000)


class SnapshotRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID | None
    manifest_hash: str
    parent_snapshot_ids: list[uuid.UUID]
    source: str
    message: str | None
    created_by: uuid.UUID | None
    created_at: datetime


class SnapshotCreated(BaseModel):
    snapshot: SnapshotRead
    created: bool = Field(description="False when `snapshot_id` named an existing snapshot")


class SnapshotEnvelope(BaseModel):
    snapshot: SnapshotRead


class DiffCounts(BaseModel):
    added: int
    modified: int
    deleted: int
    unchanged: int


class SnapshotDiff(BaseModel):
    snapshot_id: uuid.UUID
    against: uuid.UUID | None = Field(
        description="The snapshot compared against; null means the empty tree (no parent)"
    )
    manifest_hash: str
    against_manifest_hash: str | None
    added: list[str] = Field(description="Paths only in this snapshot, sorted")
    modified: list[str] = Field(description="Paths whose type, content, target or mode changed")
    deleted: list[str] = Field(description="Paths only in the snapshot compared against")
    counts: DiffCounts


class SnapshotInsights(BaseModel):
    """Activity around the project's snapshots. Workspace sync (merges) and deployments are not
    built yet: until they are, the merge and deploy times are null and every snapshot counts as
    one since the last merge and deploy."""

    total_snapshots: int
    last_snapshot_id: uuid.UUID | None
    last_snapshot_at: datetime | None
    last_merge_at: datetime | None = Field(
        description="When a workspace was last merged; null until workspace sync exists"
    )
    last_deploy_at: datetime | None = Field(
        description="When the project was last deployed; null until deployments exist"
    )
    snapshots_since_merge: int = Field(
        description="Snapshots taken after the last merge; all of them while there is none"
    )
    snapshots_since_deploy: int = Field(
        description="Snapshots taken after the last deploy; all of them while there is none"
    )
