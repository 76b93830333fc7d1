"""Delivering webhook and email events through the job queue, with retries and backoff.

The event is the outbox: `pending` with `next_delivery_at`. The job `alerts.deliver`
(sent once the evaluation that recorded the event commits) claims the event with a
compare-and-set UPDATE that moves `next_delivery_at` past the attempt's timeout (a lease: a
job that arrives twice, or the resend tick's copy, finds nothing to claim), makes one attempt
and records it (`AlertDelivery`: attempt number, status, response code, error). A failure
makes the event due again after `ORBITER_ALERT_DELIVERY_BACKOFF_SECONDS`, doubled after each
failure, until `ORBITER_ALERT_DELIVERY_MAX_ATTEMPTS` attempts were made (then `failed`).
The periodic job `alerts.redeliver` sends the job again for every event that is due: retries,
and the events whose job was lost or whose worker died mid-attempt (its lease ran out).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from orbiter.alerts import signing
from orbiter.alerts.email import send_email
from orbiter.alerts.outcome import Outcome
from orbiter.alerts.webhooks import post_webhook
from orbiter.core.db import read_only, transaction
from orbiter.core.time import utcnow
from orbiter.models import AlertDelivery, AlertEvent, AlertRule
from orbiter.queue import Job
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.alerts")

DELIVER_JOB = "alerts.deliver"
REDELIVER_EVERY_SECONDS = 5.0
LEASE_MARGIN_SECONDS = 30.0
DUE_BATCH = 100


def backoff(settings_backoff: float, failures: int) -> timedelta:
    """The wait before the next attempt after `failures` failed ones (1, 2, 4... times)."""
    return timedelta(seconds=settings_backoff * 2 ** max(failures - 1, 0))


async def handle_delivery(resources: Resources, payload: dict[str, Any]) -> None:
    """The job handler of `alerts.deliver`."""
    await deliver(resources, uuid.UUID(str(payload["event_id"])))


async def deliver(resources: Resources, event_id: uuid.UUID) -> bool:
    """One attempt at the event if it is due and this call claims it; whether it made one."""
    settings = resources.settings
    now = utcnow()
    lease = now + timedelta(seconds=settings.alert_delivery_timeout_seconds + LEASE_MARGIN_SECONDS)
    async with transaction(resources.sessionmaker) as db:
        claimed = await db.execute(
            update(AlertEvent)
            .where(
                AlertEvent.id == event_id,
                AlertEvent.delivery_status == "pending",
                AlertEvent.next_delivery_at <= now,
            )
            .values(next_delivery_at=lease)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return False
        event = await db.get(AlertEvent, event_id)
        rule = None if event is None else await db.get(AlertRule, event.rule_id)
        if event is not None and rule is not None and rule.action_type == "in_app":
            event.delivery_status, event.next_delivery_at = "none", None  # changed since
            return False
    if event is None or rule is None:
        return False
    outcome = await _attempt(resources, rule, event)
    await _record(resources, rule, event, outcome)
    return True


async def _attempt(resources: Resources, rule: AlertRule, event: AlertEvent) -> Outcome:
    payload = event_payload(rule, event)
    if rule.action_type == "email":
        return await send_email(
            resources.settings,
            to=list(rule.action_config.get("to", [])),
            subject=f"[Orbiter] {rule.name} {event.kind}",
            text=f"{event.message}\n\n{_lines(payload)}",
        )
    return await post_webhook(
        resources.settings,
        url=str(rule.action_config.get("url", "")),
        secret=signing.unseal(resources.secrets, rule.id, rule.secret_encrypted),
        message_id=f"msg_{event.id.hex}",
        payload=payload,
    )


def event_payload(rule: AlertRule, event: AlertEvent) -> dict[str, Any]:
    """The webhook body (Standard Webhooks' `{type, timestamp, data}`): the rule and the
    event with its measure."""
    return {
        "type": f"alert.{event.kind}",
        "timestamp": event.created_at.isoformat(),
        "data": {
            "rule": {
                "id": str(rule.id),
                "name": rule.name,
                "project_id": str(rule.project_id),
                "condition_type": rule.condition_type,
                "condition_threshold": event.threshold,
                "window_minutes": event.window_minutes,
            },
            "event": {
                "id": str(event.id),
                "kind": event.kind,
                "severity": event.severity,
                "message": event.message,
                "measure": event.measure,
                "created_at": event.created_at.isoformat(),
            },
        },
    }


def _lines(payload: dict[str, Any]) -> str:
    rule, event = payload["data"]["rule"], payload["data"]["event"]
    return "\n".join(
        [
            f"Rule: {rule['name']} ({rule['id']}) in project {rule['project_id']}",
            f"Condition: {rule['condition_type']} >= {rule['condition_threshold']:g} over "
            f"{rule['window_minutes']} min",
            f"Measure: {event['measure']}",
            f"Event: {event['kind']} ({event['severity']}) at {event['created_at']}",
        ]
    )


async def _record(
    resources: Resources, rule: AlertRule, event: AlertEvent, outcome: Outcome
) -> None:
    settings = resources.settings
    attempt = event.delivery_attempts + 1
    values: dict[str, Any] = {"delivery_attempts": attempt}
    if outcome.ok:
        values.update(delivery_status="delivered", next_delivery_at=None)
    elif attempt >= settings.alert_delivery_max_attempts:
        values.update(delivery_status="failed", next_delivery_at=None)
    else:
        values["next_delivery_at"] = utcnow() + backoff(
            settings.alert_delivery_backoff_seconds, attempt
        )
    async with transaction(resources.sessionmaker) as db:
        db.add(
            AlertDelivery(
                rule_id=rule.id,
                event_id=event.id,
                channel="email" if rule.action_type == "email" else "webhook",
                attempt=attempt,
                status="succeeded" if outcome.ok else "failed",
                response_code=outcome.response_code,
                error=outcome.error,
                duration_ms=outcome.duration_ms,
            )
        )
        await db.execute(
            update(AlertEvent)
            .where(AlertEvent.id == event.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )
    if not outcome.ok:
        logger.warning("alert delivery %d of event %s failed: %s", attempt, event.id, outcome.error)


async def resend_due(resources: Resources, *, now: datetime | None = None) -> int:
    """The periodic job `alerts.redeliver`: send the delivery job of every due event."""
    now = now or utcnow()
    async with read_only(resources.engine) as conn:
        due = (
            await conn.scalars(
                select(AlertEvent.id)
                .where(AlertEvent.delivery_status == "pending", AlertEvent.next_delivery_at <= now)
                .order_by(AlertEvent.next_delivery_at)
                .limit(DUE_BATCH)
            )
        ).all()
    for event_id in due:
        await resources.queue.send(Job(DELIVER_JOB, {"event_id": str(event_id)}))
    return len(due)
