"""Alerts: what callers send and what they get back."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from orbiter.core.schemas import Email, Name, RequestModel

ConditionType = Literal["error_rate", "latency", "cost", "run_failures"]
ActionType = Literal["webhook", "email", "in_app"]
RuleName = Annotated[Name, Field(min_length=1, max_length=200)]
Threshold = Annotated[float, Field(ge=0, le=1e12, allow_inf_nan=False)]
WindowMinutes = Annotated[int, Field(ge=1, le=1440)]

THRESHOLD = (
    "The rule fires when its measure reaches this: failed runs (`run_failures`), percent of "
    "5xx responses (`error_rate`, at most 100), p95 latency in ms (`latency`), spend "
    "(`cost`, in the prices' currency)"
)
WINDOW = (
    "The window the measure is taken over, in minutes (1-1440; at most 15 for `error_rate` "
    "and `latency`, the minutes the request counters keep)"
)
ACTION_CONFIG = (
    "`webhook`: `{url}` (a public http(s) URL); `email`: `{to: [addresses]}` (1-10; needs "
    "`ORBITER_SMTP_HOST`); `in_app`: `{}`"
)


class WebhookConfig(RequestModel):
    url: str = Field(min_length=1, max_length=2000)


class EmailConfig(RequestModel):
    to: list[Email] = Field(min_length=1, max_length=10)


class InAppConfig(RequestModel):
    pass


ACTION_CONFIGS: dict[str, type[RequestModel]] = {
    "webhook": WebhookConfig,
    "email": EmailConfig,
    "in_app": InAppConfig,
}


class AlertRuleCreate(RequestModel):
    project_id: uuid.UUID | None = Field(
        default=None, description="Default: the caller's personal project"
    )
    name: RuleName
    condition_type: ConditionType
    condition_threshold: Threshold = Field(description=THRESHOLD)
    window_minutes: WindowMinutes = Field(default=5, description=WINDOW)
    action_type: ActionType = "in_app"
    action_config: dict[str, Any] = Field(default_factory=dict, description=ACTION_CONFIG)
    enabled: bool = True


class AlertRuleUpdate(RequestModel):
    """Fields not sent keep their value; the rule is checked again as a whole."""

    name: RuleName | None = None
    condition_type: ConditionType | None = None
    condition_threshold: Threshold | None = Field(default=None, description=THRESHOLD)
    window_minutes: WindowMinutes | None = Field(default=None, description=WINDOW)
    action_type: ActionType | None = None
    action_config: dict[str, Any] | None = Field(default=None, description=ACTION_CONFIG)
    enabled: bool | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> AlertRuleUpdate:
        if not self.model_fields_set:
            raise ValueError("send at least one field to change")
        for name in self.model_fields_set:
            if getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class AlertRuleRead(BaseModel):
    id: uuid.UUID
    project_id: uuid.UUID
    created_by: uuid.UUID | None
    name: str
    condition_type: ConditionType
    condition_threshold: float
    window_minutes: int
    action_type: ActionType
    action_config: dict[str, Any]
    enabled: bool
    state: Literal["ok", "firing"] = Field(description="`firing` from a firing to its resolving")
    last_measure: float | None = Field(description="The measure at the last evaluation")
    last_evaluated_at: datetime | None
    created_at: datetime
    updated_at: datetime


class AlertRuleCreated(AlertRuleRead):
    webhook_secret: str = Field(
        description="The rule's signing secret (`whsec_...`): webhooks carry "
        "`webhook-signature: v1,<base64 HMAC-SHA256>` per the Standard Webhooks specification. "
        "Shown in this response only."
    )


class AlertEventRead(BaseModel):
    id: uuid.UUID
    rule_id: uuid.UUID
    kind: Literal["fired", "resolved"]
    severity: Literal["critical", "info"] = Field(
        description="`critical` when it fired, `info` when it resolved"
    )
    message: str
    measure: float | None = Field(description="The measure that made the transition")
    threshold: float
    window_minutes: int
    acknowledged: bool
    acknowledged_at: datetime | None
    acknowledged_by: uuid.UUID | None
    delivery_status: Literal["none", "pending", "delivered", "failed"] = Field(
        description="Webhook and email actions: `pending` until an attempt succeeds "
        "(`delivered`) or the last one fails (`failed`); `none` for `in_app`"
    )
    delivery_attempts: int
    created_at: datetime


class AlertDeliveryRead(BaseModel):
    id: uuid.UUID
    rule_id: uuid.UUID
    event_id: uuid.UUID
    channel: Literal["webhook", "email"]
    attempt: int = Field(description="1 for the first attempt at this event, then 2, 3...")
    status: Literal["succeeded", "failed"]
    response_code: int | None = Field(description="The webhook receiver's HTTP status")
    error: str | None
    duration_ms: int
    created_at: datetime
