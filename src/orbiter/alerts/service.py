"""Alert rules: CRUD, their events (acknowledged by editors) and their delivery attempts. A rule
belongs to a project: members read it, editors and owners create, change and delete it.
Evaluation is in evaluate.py, delivery in deliveries.py."""

from __future__ import annotations

import uuid
from typing import Any, TypeVar

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.alerts import signing
from orbiter.alerts.checks import check_action, check_condition
from orbiter.alerts.schemas import (
    AlertDeliveryRead,
    AlertEventRead,
    AlertRuleCreate,
    AlertRuleCreated,
    AlertRuleRead,
    AlertRuleUpdate,
)
from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import AlertDelivery, AlertEvent, AlertRule, Role
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids
from orbiter.tenancy.projects import project_or_personal

LABEL = "Alert rule"


def rule_read(row: AlertRule) -> AlertRuleRead:
    return AlertRuleRead.model_validate(row, from_attributes=True)


def event_read(row: AlertEvent) -> AlertEventRead:
    return AlertEventRead.model_validate(row, from_attributes=True)


async def load_rule(
    db: AsyncSession, *, user_id: uuid.UUID, rule_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> AlertRule:
    return await load_project_row(
        db, AlertRule, rule_id, user_id=user_id, min_role=min_role, label=LABEL
    )


async def list_rules(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
) -> tuple[list[AlertRuleRead], PageInfo]:
    """The rules of the caller's projects (or of `project_id`), newest first."""
    stmt = select(AlertRule).where(AlertRule.project_id.in_(member_project_ids(user_id)))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        stmt = stmt.where(AlertRule.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[AlertRule.created_at, AlertRule.id], params=params, codec=codec
    )
    return [rule_read(row[0]) for row in rows], info


async def create_rule(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: AlertRuleCreate
) -> AlertRuleCreated:
    """The rule, with its webhook signing secret (shown this once, stored encrypted)."""
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    check_condition(body.condition_type, body.condition_threshold, body.window_minutes)
    config = await check_action(body.action_type, body.action_config, resources.settings)
    secret = signing.new_secret()
    rule_id = uuid.uuid4()
    row = AlertRule(
        id=rule_id,
        project_id=project_id,
        created_by=user_id,
        name=body.name,
        condition_type=body.condition_type,
        condition_threshold=body.condition_threshold,
        window_minutes=body.window_minutes,
        action_type=body.action_type,
        action_config=config,
        enabled=body.enabled,
        secret_encrypted=signing.seal(resources.secrets, rule_id, secret),
        state="ok",
        evaluations=0,
    )
    db.add(row)
    await db.flush()
    return AlertRuleCreated(**rule_read(row).model_dump(), webhook_secret=secret)


async def get_rule(db: AsyncSession, *, user_id: uuid.UUID, rule_id: uuid.UUID) -> AlertRuleRead:
    return rule_read(await load_rule(db, user_id=user_id, rule_id=rule_id))


async def update_rule(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    rule_id: uuid.UUID,
    body: AlertRuleUpdate,
) -> AlertRuleRead:
    """Change what was sent, checking the rule as a whole again. A new condition starts over
    (`ok`: the next evaluation fires again if it holds)."""
    row = await load_rule(db, user_id=user_id, rule_id=rule_id, min_role=Role.EDITOR)
    merged: dict[str, Any] = {
        name: getattr(row, name) for name in AlertRuleUpdate.model_fields if name != "enabled"
    }
    merged.update({name: getattr(body, name) for name in body.model_fields_set})
    check_condition(
        merged["condition_type"], merged["condition_threshold"], merged["window_minutes"]
    )
    if "action_type" in body.model_fields_set and "action_config" not in body.model_fields_set:
        merged["action_config"] = {} if merged["action_type"] == "in_app" else row.action_config
    merged["action_config"] = await check_action(
        merged["action_type"], merged["action_config"], resources.settings
    )
    if {"condition_type", "condition_threshold", "window_minutes"} & body.model_fields_set:
        row.state = "ok"
    for name in ("name", "condition_type", "condition_threshold", "window_minutes"):
        setattr(row, name, merged[name])
    row.action_type, row.action_config = merged["action_type"], merged["action_config"]
    if body.enabled is not None:
        row.enabled = body.enabled
    await db.flush()
    await db.refresh(row)
    return rule_read(row)


async def delete_rule(db: AsyncSession, *, user_id: uuid.UUID, rule_id: uuid.UUID) -> None:
    """The rule, its events and their delivery attempts."""
    row = await load_rule(db, user_id=user_id, rule_id=rule_id, min_role=Role.EDITOR)
    await delete_one(
        db, delete(AlertRule).where(AlertRule.id == row.id), missing=f"{LABEL} not found"
    )


async def list_events(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    rule_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AlertEventRead], PageInfo]:
    """When the rule fired and resolved, newest first."""
    rows, info = await _of_rule(db, AlertEvent, user_id, rule_id, params, codec)
    return [event_read(row) for row in rows], info


async def acknowledge(
    db: AsyncSession, *, user_id: uuid.UUID, rule_id: uuid.UUID, event_id: uuid.UUID
) -> AlertEventRead:
    """Mark the event acknowledged (editors); acknowledging it again changes nothing."""
    rule = await load_rule(db, user_id=user_id, rule_id=rule_id, min_role=Role.EDITOR)
    event = await db.get(AlertEvent, event_id)
    if event is None or event.rule_id != rule.id:
        raise NotFound("Alert event not found")
    if not event.acknowledged:
        event.acknowledged, event.acknowledged_at, event.acknowledged_by = True, utcnow(), user_id
        await db.flush()
    return event_read(event)


async def list_deliveries(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    rule_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AlertDeliveryRead], PageInfo]:
    """Every webhook and email attempt of the rule's events, newest first."""
    rows, info = await _of_rule(db, AlertDelivery, user_id, rule_id, params, codec)
    return [AlertDeliveryRead.model_validate(row, from_attributes=True) for row in rows], info


RuleChild = TypeVar("RuleChild", AlertEvent, AlertDelivery)


async def _of_rule(
    db: AsyncSession,
    model: type[RuleChild],
    user_id: uuid.UUID,
    rule_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[RuleChild], PageInfo]:
    """A page of the rule's events or delivery attempts (members), newest first."""
    rule = await load_rule(db, user_id=user_id, rule_id=rule_id)
    stmt = select(model).where(model.rule_id == rule.id)
    rows, info = await paginate(
        db, stmt, order=[model.created_at, model.id], params=params, codec=codec
    )
    return [row[0] for row in rows], info
