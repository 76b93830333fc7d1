"""/api/v1/alerts: alert rules, their events and their delivery attempts."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.alerts import service
from orbiter.alerts.schemas import (
    AlertDeliveryRead,
    AlertEventRead,
    AlertRuleCreate,
    AlertRuleCreated,
    AlertRuleRead,
    AlertRuleUpdate,
)
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/alerts", tags=["alerts"])


@router.get("", response_model=Page[AlertRuleRead], summary="List alert rules")
async def list_rules(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
) -> Page[AlertRuleRead]:
    """The alert rules of the caller's projects (or of `project_id`), newest first."""
    data, info = await service.list_rules(
        db, user_id=principal.user_id, params=page, codec=resources.cursors, project_id=project_id
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=AlertRuleCreated, summary="Create an alert rule")
async def create_rule(
    body: AlertRuleCreate, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> AlertRuleCreated:
    """A rule of `project_id` (default: the personal project; editor or owner), evaluated
    every minute while enabled: it fires when its measure over `window_minutes` reaches
    `condition_threshold` and resolves when it drops below. A webhook URL that is not a
    public address, or an email action without SMTP configured: 422. The response holds the
    rule's webhook signing secret (`webhook_secret`), shown this once."""
    return await service.create_rule(db, resources, user_id=principal.user_id, body=body)


@router.get("/{rule_id}", response_model=AlertRuleRead, summary="Get an alert rule")
async def get_rule(rule_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> AlertRuleRead:
    return await service.get_rule(db, user_id=principal.user_id, rule_id=rule_id)


@router.put("/{rule_id}", response_model=AlertRuleRead, summary="Update an alert rule")
async def update_rule(
    rule_id: uuid.UUID,
    body: AlertRuleUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> AlertRuleRead:
    """Change the fields sent (editor or owner); the rule is checked again as a whole. A
    changed condition starts over from `ok`."""
    return await service.update_rule(
        db, resources, user_id=principal.user_id, rule_id=rule_id, body=body
    )


@router.delete("/{rule_id}", status_code=204, summary="Delete an alert rule")
async def delete_rule(rule_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    """Delete it with its events and delivery attempts (editor or owner)."""
    await service.delete_rule(db, user_id=principal.user_id, rule_id=rule_id)
    return Response(status_code=204)


@router.get(
    "/{rule_id}/events", response_model=Page[AlertEventRead], summary="List an alert's events"
)
async def list_events(
    rule_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[AlertEventRead]:
    """When the rule fired and resolved, newest first, with the measure of each."""
    data, info = await service.list_events(
        db, user_id=principal.user_id, rule_id=rule_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.post(
    "/{rule_id}/events/{event_id}/acknowledge",
    response_model=AlertEventRead,
    summary="Acknowledge an alert event",
)
async def acknowledge(
    rule_id: uuid.UUID, event_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> AlertEventRead:
    """An addition to the API contract: mark the event acknowledged (editor or owner);
    again changes nothing."""
    return await service.acknowledge(
        db, user_id=principal.user_id, rule_id=rule_id, event_id=event_id
    )


@router.get(
    "/{rule_id}/deliveries",
    response_model=Page[AlertDeliveryRead],
    summary="List an alert's delivery attempts",
)
async def list_deliveries(
    rule_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[AlertDeliveryRead]:
    """An addition to the API contract: every webhook and email attempt at the rule's
    events, newest first, with its status, the receiver's response code and the error."""
    data, info = await service.list_deliveries(
        db, user_id=principal.user_id, rule_id=rule_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)
