"""The periodic job `alerts.evaluate` (every `ORBITER_ALERT_EVALUATE_SECONDS`, once per tick
across all workers): measure every enabled rule over its window and move its state.

A rule fires when its measure reaches the threshold and resolves when the measure drops below
it (or there is none). The state moves by a compare-and-set UPDATE (`WHERE state = <what was
read>`), so however many evaluations run at once, one of them records the transition: an
`AlertEvent` (`fired`, severity `critical`; `resolved`, `info`) and its action, in the same
transaction. `in_app` records a project activity event (`alert.fired`, `alert.resolved`);
`webhook` and `email` make the event `pending` and send the delivery job once the transaction
commits (deliveries.py). While a rule stays firing nothing more is recorded.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Row, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.alerts.deliveries import DELIVER_JOB
from orbiter.alerts.measures import Measurer
from orbiter.core.db import read_only, transaction
from orbiter.core.request_stats import RequestStats
from orbiter.core.time import utcnow
from orbiter.models import AlertEvent, AlertRule
from orbiter.queue import Job, after_commit, send_pending
from orbiter.runtime.resources import Resources
from orbiter.tenancy.events import record_event

logger = logging.getLogger("orbiter.alerts")

WHAT = {
    "run_failures": "failed runs",
    "error_rate": "5xx responses (%)",
    "latency": "p95 latency (ms)",
    "cost": "spend",
}


# id, project_id, condition_type, condition_threshold, window_minutes, state
RuleRow = Row[uuid.UUID, uuid.UUID, str, float, int, str]


@dataclass
class Evaluated:
    rules: int = 0
    fired: int = 0
    resolved: int = 0
    failed: int = 0


async def evaluate_rules(
    resources: Resources, stats: RequestStats, *, now: datetime | None = None
) -> Evaluated:
    """One pass over the enabled rules; `now` (default: the clock) ends every window."""
    now = now or utcnow()
    columns = (
        AlertRule.id,
        AlertRule.project_id,
        AlertRule.condition_type,
        AlertRule.condition_threshold,
        AlertRule.window_minutes,
        AlertRule.state,
    )
    async with read_only(resources.engine) as conn:
        rules = (await conn.execute(select(*columns).where(AlertRule.enabled.is_(True)))).all()
    measurer = Measurer(resources.engine, stats, now)
    done = Evaluated(rules=len(rules))
    for rule in rules:
        try:
            kind = await _evaluate(resources, measurer, rule, now)
        except Exception:
            logger.exception("evaluating alert rule %s failed", rule.id)
            done.failed += 1
            continue
        done.fired += kind == "fired"
        done.resolved += kind == "resolved"
    return done


async def _evaluate(
    resources: Resources, measurer: Measurer, rule: RuleRow, now: datetime
) -> str | None:
    """The transition this evaluation recorded, if any."""
    measure = await measurer.measure(rule.condition_type, rule.project_id, rule.window_minutes)
    firing = measure is not None and measure >= rule.condition_threshold
    state = "firing" if firing else "ok"
    async with transaction(resources.sessionmaker) as db:
        moved = await db.execute(
            update(AlertRule)
            .where(
                AlertRule.id == rule.id,
                AlertRule.state == rule.state,
                AlertRule.enabled.is_(True),
            )
            .values(
                state=state,
                last_measure=measure,
                last_evaluated_at=now,
                evaluations=AlertRule.evaluations + 1,
                updated_at=AlertRule.updated_at,
            )
            .execution_options(synchronize_session=False)
        )
        if moved.rowcount != 1 or state == rule.state:  # type: ignore[attr-defined]
            return None  # no transition, or another evaluation (or an edit) was first
        row = await db.get(AlertRule, rule.id)
        assert row is not None
        event = await _record(db, row, measure, now)
    await send_pending(resources.queue, db)
    return event.kind


async def _record(
    db: AsyncSession, rule: AlertRule, measure: float | None, now: datetime
) -> AlertEvent:
    fired = rule.state == "firing"
    shown = "no data" if measure is None else f"{measure:g}"
    relation = "reached" if fired else "is below"
    event = AlertEvent(
        rule_id=rule.id,
        kind="fired" if fired else "resolved",
        severity="critical" if fired else "info",
        message=(
            f"{rule.name}: {WHAT[rule.condition_type]} over the last {rule.window_minutes} "
            f"min {relation} the threshold {rule.condition_threshold:g} ({shown})"
        ),
        measure=measure,
        threshold=rule.condition_threshold,
        window_minutes=rule.window_minutes,
        created_at=now,
    )
    if rule.action_type == "in_app":
        event.delivery_status = "none"
    else:
        event.delivery_status, event.next_delivery_at = "pending", utcnow()
    db.add(event)
    await db.flush()
    if rule.action_type == "in_app":
        await record_event(
            db,
            project_id=rule.project_id,
            actor_id=None,
            type=f"alert.{event.kind}",
            data={
                "rule_id": str(rule.id),
                "name": rule.name,
                "event_id": str(event.id),
                "severity": event.severity,
                "message": event.message,
                "measure": measure,
            },
        )
    else:
        after_commit(db, Job(DELIVER_JOB, {"event_id": str(event.id)}))
    return event
