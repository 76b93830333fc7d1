"""Token and cost totals of the spans that used tokens, in the caller's projects.

Spans carry their run's `project_id` (denormalised, migration 0011) so the totals are read
from the partial index `ix_spans_usage` (project_id, started_at) WHERE tokens were used, which
covers model, provider, tokens and cost on PostgreSQL: `group_by=day|provider|model` is an
index-only scan of the matching spans, never of the spans without usage (steps, tools, nodes)
nor of other projects. `agent` and `workflow` join each span's run by primary key.
Conversation replies outside runs are not counted (they have token counts but no cost)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Date, String, and_, cast, func, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import InstrumentedAttribute

from orbiter.core.db import read_only
from orbiter.core.request_stats import RequestStats
from orbiter.health.checks import CheckResult, run_checks, timed
from orbiter.models.runs import Run, Span
from orbiter.monitoring.schemas import (
    CostBucket,
    CostReport,
    CostTotals,
    GroupBy,
    MonitoringHealth,
    ServiceCheck,
    TrafficWindow,
)
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import member_project_ids

SERVICES = ("database", "redis", "blob_store", "queue")


def _key(group_by: GroupBy, dialect: str) -> ColumnElement[Any] | InstrumentedAttribute[Any]:
    if group_by == "day":
        if dialect == "sqlite":
            return func.substr(cast(Span.started_at, String), 1, 10)
        return cast(func.timezone("UTC", Span.started_at), Date)
    if group_by in ("provider", "model"):
        return Span.provider if group_by == "provider" else Span.model
    return Run.target_id


async def costs(
    engine: AsyncEngine,
    *,
    user_id: uuid.UUID,
    group_by: GroupBy,
    since: datetime | None,
    until: datetime | None,
) -> CostReport:
    key = _key(group_by, engine.dialect.name).label("key")
    unpriced = (Span.cost.is_(None)).label("unpriced")
    stmt = (
        select(
            key,
            unpriced,
            func.sum(Span.tokens_in),
            func.sum(Span.tokens_out),
            func.sum(Span.cost),
            func.count(),
        )
        .where(
            Span.project_id.in_(member_project_ids(user_id)),
            or_(Span.tokens_in > 0, Span.tokens_out > 0),
        )
        .group_by(key, unpriced)
        .order_by(key, unpriced)
    )
    if group_by in ("agent", "workflow"):
        stmt = stmt.join(Run, and_(Run.id == Span.run_id, Run.kind == group_by))
    if since is not None:
        stmt = stmt.where(Span.started_at >= since)
    if until is not None:
        stmt = stmt.where(Span.started_at < until)
    async with read_only(engine) as conn:
        rows = (await conn.execute(stmt)).all()
    buckets = [
        CostBucket(
            key=None if k is None else str(k),
            tokens_in=int(t_in or 0),
            tokens_out=int(t_out or 0),
            cost=None if no_price else float(cost or 0.0),
            spans=int(n),
        )
        for k, no_price, t_in, t_out, cost, n in rows
    ]
    return CostReport(
        group_by=group_by, since=since, until=until, buckets=buckets, totals=_totals(buckets)
    )


def _totals(buckets: list[CostBucket]) -> CostTotals:
    return CostTotals(
        tokens_in=sum(b.tokens_in for b in buckets),
        tokens_out=sum(b.tokens_out for b in buckets),
        cost=sum(b.cost or 0.0 for b in buckets),
        unpriced_spans=sum(b.spans for b in buckets if b.cost is None),
    )


async def health(resources: Resources, stats: RequestStats) -> MonitoringHealth:
    """Each backing service probed now (with its latency), and the recent traffic."""
    redis = resources.kv if resources.settings.redis_url else None
    results = await run_checks(resources.engine, redis, resources.blobs)
    results["queue"] = await timed(resources.queue.ping)
    services = {name: _check(result) for name, result in results.items()}
    if redis is None:
        services["redis"] = ServiceCheck(status="not_configured", latency_ms=None)
    windows = await stats.windows()
    return MonitoringHealth(
        status="ok" if all(r.ok for r in results.values()) else "degraded",
        services={name: services[name] for name in SERVICES},
        traffic=[TrafficWindow(**asdict(w)) for w in windows],
        shared=stats.shared,
    )


def _check(result: CheckResult) -> ServiceCheck:
    status: Literal["ok", "failed"] = "ok" if result.ok else "failed"
    return ServiceCheck(status=status, latency_ms=result.latency_ms, error=result.error)
