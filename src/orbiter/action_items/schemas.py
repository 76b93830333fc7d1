"""Action item bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

Severity = Literal["critical", "high", "medium", "low"]
Kind = Literal["drift", "security", "test_coverage", "refactoring", "deployment"]


class ActionItemRead(BaseModel):
    id: uuid.UUID = Field(
        description="Stable: stored findings keep theirs across analyses, computed kinds "
        "(drift, deployment) get one derived from what they are about"
    )
    kind: Kind
    severity: Severity
    title: str
    description: str
    project_id: uuid.UUID
    workspace_id: uuid.UUID | None
    path: str | None = Field(description="The file it is about, when one")
    line: int | None
    source: Literal["analysis", "drift", "deployment"]
    details: dict[str, Any] = Field(default_factory=dict)
    dismissed: bool
    dismissed_at: datetime | None
    created_at: datetime


RunStatus = Literal["queued", "running", "ready", "failed", "cancelled", "applied"]


class CheckRead(BaseModel):
    name: str = Field(description="`compile <path>`, `json <path>`, or the test command")
    passed: bool
    output: str = Field(description="What it printed or why it failed (bounded)")


class ChangeRead(BaseModel):
    path: str
    base_hash: str | None = Field(description="The content the patch was made on (None: added)")
    new_hash: str | None = Field(description="The content it leaves (None: deleted)")


class ActionItemRunRead(BaseModel):
    id: uuid.UUID
    item_id: uuid.UUID
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    run_id: uuid.UUID | None = Field(description="The engine's run (`GET /runs/{id}` traces it)")
    status: RunStatus = Field(
        description="`ready`: a patch to apply; `applied` once applied (only once)"
    )
    item: dict[str, Any] = Field(description="The item as it was when the run started")
    base_manifest_hash: str | None = Field(description="The workspace's files the patch is on")
    summary: str | None = Field(description="The agent's own summary of what it changed")
    report: str | None = Field(description="The changes and the checks, in words")
    patch: str | None = Field(description="A unified diff")
    checks: list[CheckRead]
    changes: list[ChangeRead]
    error: str | None
    created_at: datetime
    finished_at: datetime | None
    applied_at: datetime | None
    applied_manifest_hash: str | None


class RunApplied(BaseModel):
    run: ActionItemRunRead
    workspace_id: uuid.UUID
    manifest_hash: str = Field(description="The workspace's new current manifest")
    version: int
    snapshot_id: uuid.UUID | None
    merged: list[str] = Field(description="Paths merged with changes made since the run began")
