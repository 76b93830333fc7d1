"""Alert rules, the events of their transitions, and the attempts to deliver those events.

A rule belongs to a project. The scheduler evaluates enabled rules (alerts/evaluate.py):
`state` is `ok` or `firing`, and only a transition (ok -> firing: `fired`, firing -> ok:
`resolved`) records an `AlertEvent`; the state moves by a compare-and-set UPDATE, so two
evaluations at once record one event. Webhook and email events are delivered through the job
queue: the event itself is the outbox (`delivery_status` `pending` with `next_delivery_at`),
and each attempt is an `AlertDelivery`. The webhook signing secret (`whsec_...`) is stored
encrypted, bound to the rule's id.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from orbiter.models.base import Base, CreatedAtMixin, IdMixin, TimestampMixin, one_of

CONDITION_TYPES = ("error_rate", "latency", "cost", "run_failures")
ACTION_TYPES = ("webhook", "email", "in_app")
RULE_STATES = ("ok", "firing")
EVENT_KINDS = ("fired", "resolved")
DELIVERY_STATUSES = ("none", "pending", "delivered", "failed")
ATTEMPT_STATUSES = ("succeeded", "failed")
CHANNELS = ("webhook", "email")


class AlertRule(IdMixin, TimestampMixin, Base):
    __tablename__ = "alert_rules"
    __table_args__ = (
        Index("ix_alert_rules_created_at_id", "created_at", "id"),
        Index("ix_alert_rules_enabled", "enabled"),
        one_of("condition_type", CONDITION_TYPES),
        one_of("action_type", ACTION_TYPES),
        one_of("state", RULE_STATES),
    )

    project_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    created_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    name: Mapped[str] = mapped_column(String(200))
    condition_type: Mapped[str] = mapped_column(String(16))
    condition_threshold: Mapped[float] = mapped_column(Float)
    window_minutes: Mapped[int] = mapped_column(Integer)
    action_type: Mapped[str] = mapped_column(String(16))
    action_config: Mapped[dict[str, Any]]
    enabled: Mapped[bool] = mapped_column(default=True)
    secret_encrypted: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="ok")
    last_measure: Mapped[float | None] = mapped_column(Float)
    last_evaluated_at: Mapped[datetime | None]
    evaluations: Mapped[int] = mapped_column(BigInteger, default=0)


class AlertEvent(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "alert_events"
    __table_args__ = (
        Index("ix_alert_events_rule_id_created_at_id", "rule_id", "created_at", "id"),
        Index("ix_alert_events_delivery", "delivery_status", "next_delivery_at"),
        one_of("kind", EVENT_KINDS),
        one_of("delivery_status", DELIVERY_STATUSES),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    measure: Mapped[float | None] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    window_minutes: Mapped[int] = mapped_column(Integer)
    acknowledged: Mapped[bool] = mapped_column(default=False)
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    delivery_status: Mapped[str] = mapped_column(String(16), default="none")
    delivery_attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_delivery_at: Mapped[datetime | None]


class AlertDelivery(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "alert_deliveries"
    __table_args__ = (
        Index("ix_alert_deliveries_rule_id_created_at_id", "rule_id", "created_at", "id"),
        one_of("channel", CHANNELS),
        one_of("status", ATTEMPT_STATUSES),
    )

    rule_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("alert_rules.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("alert_events.id", ondelete="CASCADE"), index=True
    )
    channel: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    response_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
