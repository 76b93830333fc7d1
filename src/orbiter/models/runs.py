"""Runs (one execution of an agent, workflow, task, action item or tool) and their spans.

A run is queued, then claimed by a worker (`running`, `attempts` counts the claims), may pause
(`awaiting_input`, `awaiting_approval`) and ends `succeeded`, `failed` or `cancelled`. Its
spans form the trace: a tree (`parent_id`) of steps, LLM calls, tool calls, retrievals and
workflow nodes, each with its input, output, error, tokens, cost and duration.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin, TimestampMixin, one_of

RUN_KINDS = ("agent", "workflow", "task", "action_item", "tool")
RUN_STATUSES = (
    "queued",
    "running",
    "awaiting_input",
    "awaiting_approval",
    "succeeded",
    "failed",
    "cancelled",
)
FINISHED_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
WAITING_STATUSES = frozenset({"awaiting_input", "awaiting_approval"})
SPAN_TYPES = ("run", "step", "llm", "tool", "retrieval", "node")
SPAN_STATUSES = ("open", "ok", "error")
USAGE_PREDICATE = "(tokens_in > 0) OR (tokens_out > 0)"  # a span that used tokens


class Run(IdMixin, TimestampMixin, Base):
    __tablename__ = "runs"
    __table_args__ = (
        Index("ix_runs_project_id_created_at_id", "project_id", "created_at", "id"),
        Index("ix_runs_status_heartbeat_at", "status", "heartbeat_at"),
        Index("ix_runs_target_id", "target_id"),
        UniqueConstraint("user_id", "idempotency_key", name="uq_runs_user_id_idempotency_key"),
        one_of("kind", RUN_KINDS),
        one_of("status", RUN_STATUSES),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    kind: Mapped[str] = mapped_column(String(16))
    target_id: Mapped[uuid.UUID | None]
    target_version: Mapped[str | None] = mapped_column(String(100))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    status: Mapped[str] = mapped_column(String(32), default="queued")
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[dict[str, Any] | None]
    state: Mapped[dict[str, Any]] = mapped_column(default=dict)
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    cancel_requested: Mapped[bool] = mapped_column(default=False)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]


class Span(IdMixin, Base):
    __tablename__ = "spans"
    __table_args__ = (
        Index("ix_spans_run_id_started_at", "run_id", "started_at"),
        # /monitoring/costs: the spans that used tokens, per project and time, covering what
        # the totals read (an index-only scan on PostgreSQL; see monitoring/service.py).
        Index(
            "ix_spans_usage",
            "project_id",
            "started_at",
            postgresql_include=["model", "provider", "tokens_in", "tokens_out", "cost"],
            postgresql_where=text(USAGE_PREDICATE),
            sqlite_where=text(USAGE_PREDICATE),
        ),
        one_of("type", SPAN_TYPES),
        one_of("status", SPAN_STATUSES),
    )

    run_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    project_id: Mapped[uuid.UUID | None]  # the run's, denormalised for /monitoring/costs
    parent_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("spans.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    model: Mapped[str | None] = mapped_column(String(200))
    provider: Mapped[str | None] = mapped_column(String(100))
    input: Mapped[Any | None] = mapped_column(JSON)
    output: Mapped[Any | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    tokens_in: Mapped[int] = mapped_column(Integer, default=0)
    tokens_out: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(16), default="open")
    started_at: Mapped[datetime]
    duration_ms: Mapped[int | None] = mapped_column(Integer)


NO_TARGET = uuid.UUID(int=0)  # usage_rollups.target_id of a run without a target


class UsageRollup(Base):
    """Token and cost totals of the spans with usage, per project, hour (of the spans'
    `started_at`, UTC), run kind and target, provider, model and whether priced: added to
    when such a span closes (runs/context.py), backfilled by migration 0011. Answers
    /monitoring/costs for whole hours; the spans themselves (ix_spans_usage) for the partial
    hours at the edges of `since` and `until`. Empty provider or model: none recorded."""

    __tablename__ = "usage_rollups"

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    hour: Mapped[datetime] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(100), primary_key=True)
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    priced: Mapped[bool] = mapped_column(primary_key=True)
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)
    spans: Mapped[int] = mapped_column(Integer, default=0)


class LlmCall(IdMixin, CreatedAtMixin, Base):
    """One LLM call made outside runs and conversation replies for a project: the optional
    help of sync (`combined`), drift analysis, a conversation's snapshot summary, and the
    project knowledge routes (next steps, decisions, atlas diagrams). Added to
    `usage_rollups` (kind `assist`) as it is made, so /monitoring/costs and the alerts' `cost`
    count it; read one by one for the partial hours at the edges (ix_llm_calls_project)."""

    __tablename__ = "llm_calls"
    __table_args__ = (Index("ix_llm_calls_project", "project_id", "created_at"),)

    project_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    purpose: Mapped[str] = mapped_column(String(32))
    provider_type: Mapped[str] = mapped_column(String(100))
    model: Mapped[str] = mapped_column(String(200))
    tokens_in: Mapped[int] = mapped_column(BigInteger, default=0)
    tokens_out: Mapped[int] = mapped_column(BigInteger, default=0)
    cost: Mapped[float | None] = mapped_column(Float, default=None)
