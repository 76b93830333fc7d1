"""/api/v1/monitoring: token and cost totals."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.monitoring import costs as cost_totals
from orbiter.monitoring import service
from orbiter.monitoring.schemas import CostReport, GroupBy, MonitoringHealth
from orbiter.runtime.deps import ResourcesDep

router = APIRouter(prefix="/monitoring", tags=["monitoring"])


@router.get("/costs", response_model=CostReport, summary="Token and cost totals")
async def costs(
    principal: CurrentPrincipal,
    resources: ResourcesDep,
    group_by: Annotated[GroupBy, Query(description="How to group the totals")] = "day",
    since: Annotated[datetime | None, Query(description="LLM calls started at or after")] = None,
    until: Annotated[datetime | None, Query(description="LLM calls started before")] = None,
) -> CostReport:
    """Tokens in and out and cost of the LLM calls (spans with token usage) of the runs in
    the caller's projects, grouped by day (UTC), provider, model, agent or workflow. Spans
    of an unpriced model form a bucket of their own with a `null` cost."""
    return await cost_totals.report(
        resources.engine,
        user_id=principal.user_id,
        group_by=group_by,
        since=since,
        until=until,
    )


@router.get("/health", response_model=MonitoringHealth, summary="Services and recent traffic")
async def health(
    _principal: CurrentPrincipal, resources: ResourcesDep, request: Request
) -> MonitoringHealth:
    """Database, Redis, blob store and queue, each probed now with its latency; and the request
    rate, error rate (percent of 5xx) and p50/p95 latency over the last 1, 5 and 15 minutes,
    across all replicas when Redis is configured (else this process's). Latencies are the
    upper bounds of fixed histogram buckets (5, 10, 25, 50, 100, 250, 500 ms, 1, 2.5, 5, 10 s)."""
    return await service.health(resources, request.app.state.request_stats)
