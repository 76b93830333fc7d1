"""Bodies of `POST /conversations/{id}/snapshot`."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, ConfigDict, Field

from orbiter.sync.assist import LlmUse


class SnapshotRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    generate_summary: bool = Field(
        False,
        description="Have the caller's LLM provider summarize the changes since the workspace's "
        "last snapshot (503 when the caller has no provider)",
    )


class ConversationSnapshot(BaseModel):
    snapshot_id: uuid.UUID
    manifest_hash: str
    was_dirty: bool = Field(
        description="The tree differed from the workspace's last snapshot, so a new snapshot "
        "was recorded; false: `snapshot_id` is that last snapshot"
    )
    summary: str | None = Field(
        description="The LLM's summary of the changes when asked for (null when not asked, or "
        "when the call failed: see `notes`)"
    )
    llm: LlmUse | None = Field(None, description="The LLM call behind `summary`")
    notes: list[str] = Field(default_factory=list)
