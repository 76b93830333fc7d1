"""Sync previews: a prepared three-way merge of the main workspace into a workspace, kept 30
minutes, then executed (once) and possibly undone (once)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin


class SyncPreview(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "sync_previews"
    __table_args__ = (
        Index("ix_sync_previews_workspace_id_created_at", "workspace_id", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    base_snapshot_id: Mapped[uuid.UUID | None]
    main_workspace_id: Mapped[uuid.UUID]
    # The three trees and the merged one (auto actions applied): GC roots while the row lives.
    base_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    main_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    workspace_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    merged_manifest_hash: Mapped[str] = mapped_column(String(64))
    # The `combined` versions an LLM proposed for some decisions (a manifest of those paths).
    combined_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    plan: Mapped[dict[str, Any]]  # the preview's body and each decision's entries
    expires_at: Mapped[datetime] = mapped_column(index=True)
    executed_at: Mapped[datetime | None]
    before_snapshot_id: Mapped[uuid.UUID | None]
    previous_last_merged_snapshot_id: Mapped[uuid.UUID | None]
    result_manifest_hash: Mapped[str | None] = mapped_column(String(64))
    undone_at: Mapped[datetime | None]
