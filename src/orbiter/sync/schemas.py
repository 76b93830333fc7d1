"""Request and response bodies of the sync and drift-analysis routes (API.md, "workspaces")."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from orbiter.sync.assist import LlmUse

OptionId = Literal["use_main", "use_workspace", "combined"]


class EntryRead(BaseModel):
    """A manifest entry an option would leave at its path."""

    hash: str | None
    size: int
    mode: int
    type: str
    target: str | None = None


class AutoAction(BaseModel):
    path: str
    action: Literal["copy_from_main", "keep_workspace", "merged"]
    description: str


class DecisionOption(BaseModel):
    id: OptionId
    label: str
    description: str
    result: EntryRead | None = Field(description="The entry left at the path; null: deleted")
    preview: str | None = Field(
        None,
        description="`combined` only: the unified diff from this workspace's version to the "
        "content the LLM proposed",
    )


class Decision(BaseModel):
    path: str
    conflict_reason: str
    options: list[DecisionOption]
    recommended_option_id: OptionId


class SyncPreviewRead(BaseModel):
    id: uuid.UUID
    workspace_id: uuid.UUID
    main_workspace_id: uuid.UUID
    base_snapshot_id: uuid.UUID | None
    merge_base_rule: str
    auto_actions: list[AutoAction]
    decisions_needed: list[Decision]
    files_to_update: list[str]
    files_to_add: list[str]
    files_to_delete: list[str]
    files_unchanged: int
    summary: str
    llm: LlmUse | None = Field(
        None, description="The LLM calls behind the `combined` options; null when none was made"
    )
    notes: list[str] = Field(
        default_factory=list, description="Why some conflict has no `combined` option"
    )
    created_at: datetime
    expires_at: datetime


class PreviewEnvelope(BaseModel):
    preview: SyncPreviewRead


class SyncExecute(BaseModel):
    preview_id: uuid.UUID
    decisions: dict[str, OptionId] = Field(default_factory=dict)
    create_snapshot_before: bool = True
    create_snapshot_after: bool = True


class SyncExecuted(BaseModel):
    success: bool
    workspace_id: uuid.UUID
    snapshot_id: uuid.UUID | None
    before_snapshot_id: uuid.UUID
    manifest_hash: str
    version: int
    files_updated: list[str]
    files_added: list[str]
    files_deleted: list[str]


class SyncUndone(BaseModel):
    success: bool
    reverted_to_snapshot_id: uuid.UUID
    snapshot_id: uuid.UUID
    manifest_hash: str
    version: int


class DriftAnalysis(BaseModel):
    source_changes_summary: str
    risk_level: Literal["low", "medium", "high"]
    can_auto_sync: bool
    recommendation: str
    recommended_action: Literal["none", "sync", "review_conflicts"]
    merge_base_rule: str
    base_snapshot_id: uuid.UUID | None
    changes_from_main: int
    changes_here: int
    conflicts: list[str]
    overlap_ratio: float
    llm_enriched: bool = Field(
        False, description="Whether the caller's LLM added `llm_explanation` (and a recommendation)"
    )
    enriched_by: LlmUse | None = Field(None, description="The LLM call; null when none enriched")
    llm_explanation: str | None = None
    llm_recommendation: str | None = Field(
        None, description="The LLM's advice in words; the deterministic fields stay as they are"
    )
    notes: list[str] = Field(default_factory=list, description="E.g. why no LLM enrichment")


class AnalysisEnvelope(BaseModel):
    analysis: DriftAnalysis
