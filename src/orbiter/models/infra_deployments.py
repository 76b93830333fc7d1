"""App deployments: a workspace's files built and run by the deploy pipeline
(`orbiter.infrastructure.deploy`), their log lines, and each workspace's deployment settings.

Not to be confused with `models/deployments.py` (an agent or workflow published behind an
API). `token_hash` is the SHA-256 of the pipeline's callback token
(`POST /infrastructure/deployments/{id}/status`); the token itself is never stored.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin, TimestampMixin, one_of

APP_DEPLOYMENT_STATUSES = ("queued", "building", "deploying", "live", "failed", "stopped")
APP_DEPLOYMENT_TRIGGERS = ("manual", "workspace", "conversation", "auto")
DEPLOY_LOG_STREAMS = ("system", "build", "app")


class AppDeployment(IdMixin, TimestampMixin, Base):
    __tablename__ = "app_deployments"
    __table_args__ = (
        Index("ix_app_deployments_workspace_id_created_at_id", "workspace_id", "created_at", "id"),
        Index(
            "ix_app_deployments_conversation_id_created_at_id",
            "conversation_id",
            "created_at",
            "id",
        ),
        Index("ix_app_deployments_project_id_status", "project_id", "status"),
        one_of("status", APP_DEPLOYMENT_STATUSES),
        one_of("trigger", APP_DEPLOYMENT_TRIGGERS),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workspace_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("workspaces.id", ondelete="SET NULL")
    )
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    trigger: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32), default="local")
    manifest_hash: Mapped[str | None] = mapped_column(String(64))
    snapshot_id: Mapped[uuid.UUID | None]  # the workspace's snapshot of that manifest, if any
    status: Mapped[str] = mapped_column(String(16), default="queued")
    url: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    # What the pipeline found and ran: runtime, framework, commands, health path, resources.
    plan: Mapped[dict[str, Any]] = mapped_column(default=dict)
    provisioned_resources: Mapped[list[Any]] = mapped_column(default=list)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    host: Mapped[str | None] = mapped_column(String(255))  # the process running it (local)
    log_count: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]  # live or failed
    stopped_at: Mapped[datetime | None]


class AppDeploymentLog(CreatedAtMixin, Base):
    """One line a deployment wrote (its build, its app) or the pipeline wrote about it."""

    __tablename__ = "app_deployment_logs"
    __table_args__ = (
        UniqueConstraint("deployment_id", "seq", name="uq_app_deployment_logs_deployment_id_seq"),
        one_of("stream", DEPLOY_LOG_STREAMS),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    deployment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("app_deployments.id", ondelete="CASCADE")
    )
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(16))
    line: Mapped[str] = mapped_column(Text)


class DeploymentSettings(TimestampMixin, Base):
    """How a workspace deploys; a workspace without a row uses the defaults."""

    __tablename__ = "deployment_settings"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    auto_deploy: Mapped[bool] = mapped_column(default=False)
    runtime_override: Mapped[str | None] = mapped_column(String(32))
    build_command: Mapped[str | None] = mapped_column(Text)
    start_command: Mapped[str | None] = mapped_column(Text)
    health_check_path: Mapped[str] = mapped_column(String(512), default="/")
    updated_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
