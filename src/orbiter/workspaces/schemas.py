from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from orbiter.core.schemas import Name, RequestModel
from orbiter.snapshots.schemas import HASH_PATTERN

RiskLevel = Literal["low", "medium", "high"]
MAX_FILES = 2**31 - 1


class WorkspaceCreate(RequestModel):
    name: Name = Field(min_length=1, max_length=200)
    machine_id: Name | None = Field(default=None, max_length=200)
    base_snapshot_id: uuid.UUID | None = Field(
        default=None, description="The project snapshot this workspace starts from"
    )
    local_path: str | None = Field(default=None, max_length=4096)


class WorkspaceUpdate(RequestModel):
    name: Name | None = Field(default=None, min_length=1, max_length=200)
    local_path: str | None = Field(default=None, max_length=4096, description="null clears it")
    machine_id: Name | None = Field(default=None, max_length=200, description="null clears it")

    @model_validator(mode="after")
    def _something_to_change(self) -> WorkspaceUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one of name, local_path, machine_id")
        if "name" in self.model_fields_set and self.name is None:
            raise ValueError("name cannot be null")
        return self


class CurrentManifestUpdate(RequestModel):
    manifest_hash: str = Field(pattern=HASH_PATTERN)
    previous_manifest_hash: str | None = Field(
        default=None,
        pattern=HASH_PATTERN,
        description=(
            "The hash the caller believes is current: the update happens only if it still is "
            "(null: only if none is set yet). Omitted: set unconditionally."
        ),
    )


class CurrentManifestResult(BaseModel):
    updated: bool
    current_manifest_hash: str
    version: int = Field(description="Incremented by every change of the current manifest")


class DriftReportCreate(RequestModel):
    files_added: int = Field(ge=0, le=MAX_FILES)
    files_modified: int = Field(ge=0, le=MAX_FILES)
    files_deleted: int = Field(ge=0, le=MAX_FILES)
    bytes_changed: int = Field(ge=0, le=2**63 - 1)
    summary: str | None = Field(default=None, max_length=10_000)


class DriftCounts(BaseModel):
    source_only: int
    workspace_only: int
    both_same: int
    both_different: int


class CountsByExt(BaseModel):
    source_only: dict[str, int]
    workspace_only: dict[str, int]
    both_different: dict[str, int]


class DriftReportRead(BaseModel):
    """A stored drift report. `kind` is `reported` (sent by a CLI) or `compare` (computed by
    the server against `source_workspace_id`); the compare metrics are null for reports."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    source_workspace_id: uuid.UUID | None
    kind: Literal["reported", "compare"]
    files_added: int
    files_modified: int
    files_deleted: int
    bytes_changed: int
    summary: str | None
    created_by: uuid.UUID | None
    created_at: datetime
    compared_at: datetime = Field(description="When it was measured (= created_at)")
    staleness_hours: float = Field(description="Hours since it was measured")
    workspace_manifest_hash: str | None = None
    source_manifest_hash: str | None = None
    counts: DriftCounts | None = None
    total_drift_files: int | None = None
    has_overlaps: bool | None = None
    overlap_ratio: float | None = None
    risk_level: RiskLevel | None = None
    top_overlap_files: list[str] | None = None
    counts_by_ext: CountsByExt | None = None
    large_files_changed: bool | None = None


class DriftDetail(DriftReportRead):
    """A compare, with the paths of each category (sorted, up to 1000 each: see `counts`)."""

    include_dirty: bool
    workspace_snapshot_id: uuid.UUID | None = Field(
        description="Snapshot whose manifest was used; null when it was the current manifest"
    )
    source_snapshot_id: uuid.UUID | None
    source_only: list[str]
    workspace_only: list[str]
    both_same: list[str]
    both_different: list[str]
    large_files: list[str] = Field(description="Differing files of 200 kB or more (first 20)")
    truncated: bool = Field(description="True when a category lists fewer paths than it counts")


class WorkspaceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    project_id: uuid.UUID
    name: str
    machine_id: str | None
    local_path: str | None
    is_main: bool
    base_snapshot_id: uuid.UUID | None
    last_merged_snapshot_id: uuid.UUID | None
    current_manifest_hash: str | None
    version: int
    last_seen_at: datetime | None
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime


class WorkspaceListItem(WorkspaceRead):
    latest_drift: DriftReportRead | None = Field(description="Its most recent drift report")


class WorkspaceDetail(BaseModel):
    workspace: WorkspaceRead
    drift: DriftDetail | None = Field(
        description=(
            "Compare against the project's main workspace; null for the main workspace itself "
            "or when neither side has any files recorded yet"
        )
    )


class DriftCompareResult(BaseModel):
    drift: DriftDetail | None = Field(
        description="Null when the source is this workspace itself (nothing to compare)"
    )
    is_main_workspace: bool
    source_workspace: WorkspaceRead | None


class DriftReportEnvelope(BaseModel):
    drift_report: DriftReportRead


class DriftReportList(BaseModel):
    drift_reports: list[DriftReportRead] = Field(description="Newest first")
    latest: DriftReportRead | None


class HeartbeatResult(BaseModel):
    success: bool
    last_seen_at: datetime


class SetMainResult(BaseModel):
    success: bool
    main_workspace_id: uuid.UUID
