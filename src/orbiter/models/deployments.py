"""Deployments: an agent or a workflow published at a pinned version, invoked by its members
or by the deployment's own key.

`target_version` is what the deployment runs: a workflow version's content hash, or an
agent's version number; `pinned` keeps what that version was (the agent's settings), so an
edit of the target after the deployment changes nothing until a redeploy. The key is shown
once at creation: only its SHA-256 and its first characters are kept.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, IdMixin, TimestampMixin, one_of

DEPLOYMENT_TARGETS = ("agent", "workflow", "workspace")


class Deployment(IdMixin, TimestampMixin, Base):
    __tablename__ = "deployments"
    __table_args__ = (
        Index("ix_deployments_created_at_id", "created_at", "id"),
        one_of("target_type", DEPLOYMENT_TARGETS),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    target_type: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID] = mapped_column(index=True)
    target_version: Mapped[str] = mapped_column(String(64))
    pinned: Mapped[dict[str, Any]]
    environment: Mapped[str] = mapped_column(String(64), default="production")
    config: Mapped[dict[str, Any]]
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str | None] = mapped_column(String(16))
    key_revoked_at: Mapped[datetime | None]
    last_invoked_at: Mapped[datetime | None]
