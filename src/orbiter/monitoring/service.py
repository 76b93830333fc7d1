"""GET /monitoring/health: the backing services probed now, and the recent traffic."""

from __future__ import annotations

from dataclasses import asdict
from typing import Literal

from orbiter.core.request_stats import RequestStats
from orbiter.health.checks import CheckResult, run_checks, timed
from orbiter.monitoring.schemas import (
    MonitoringHealth,
    ServiceCheck,
    TrafficWindow,
)
from orbiter.runtime.resources import Resources

SERVICES = ("database", "redis", "blob_store", "queue")


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
