"""The run engine's and the LLM calls' series on `/metrics`, read from the database before
each scrape (so every replica serves the same totals, whichever process ran the runs):

- `orbiter_runs{status}`: runs by status (every status, 0 when none);
- `orbiter_run_queue_depth`: runs queued and not yet claimed; `orbiter_run_queue_lag_seconds`:
  how long the oldest of them has waited (0 when none);
- `orbiter_llm_tokens_total{provider,model,direction}` (direction `in` or `out`) and
  `orbiter_llm_cost_total{provider,model}` (priced spans only; an unpriced model has tokens
  and no cost series): from `usage_rollups` (a few rows per hour, not the spans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.db import read_only
from orbiter.core.metrics import Metrics
from orbiter.core.time import utcnow
from orbiter.models.runs import RUN_STATUSES, Run, UsageRollup

UNKNOWN = "unknown"  # the label of a span without a provider or model


class RunsAndUsage(Collector):
    """What the last refresh read, served at scrape time."""

    def __init__(self, engine: Callable[[], AsyncEngine | None]) -> None:
        self._engine = engine
        self.runs: dict[str, int] = {}
        self.oldest_queued: datetime | None = None
        self.usage: list[tuple[str, str, int, int, float | None]] = []

    async def refresh(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        by_status = select(Run.status, func.count()).group_by(Run.status)
        oldest = select(func.min(Run.created_at)).where(Run.status == "queued")
        r = UsageRollup
        usage = select(
            r.provider,
            r.model,
            func.sum(r.tokens_in),
            func.sum(r.tokens_out),
            func.sum(case((r.priced, r.cost))),  # null when no span of the model was priced
        ).group_by(r.provider, r.model)
        async with read_only(engine) as conn:
            runs = {status: int(n) for status, n in (await conn.execute(by_status)).all()}
            self.oldest_queued = (await conn.execute(oldest)).scalar_one_or_none()
            rows = (await conn.execute(usage)).all()
        self.runs = runs
        self.usage = [
            (p or UNKNOWN, m or UNKNOWN, int(t_in or 0), int(t_out or 0), cost)
            for p, m, t_in, t_out, cost in rows
        ]

    def collect(self) -> Iterator[Metric]:
        runs = GaugeMetricFamily("orbiter_runs", "Runs by status.", labels=["status"])
        for status in RUN_STATUSES:
            runs.add_metric([status], self.runs.get(status, 0))
        yield runs
        yield GaugeMetricFamily(
            "orbiter_run_queue_depth",
            "Runs queued, not yet claimed by a worker.",
            value=self.runs.get("queued", 0),
        )
        lag = (utcnow() - self.oldest_queued).total_seconds() if self.oldest_queued else 0.0
        yield GaugeMetricFamily(
            "orbiter_run_queue_lag_seconds",
            "How long the oldest queued run has waited.",
            value=max(lag, 0.0),
        )
        yield from self._usage()

    def _usage(self) -> Iterator[Metric]:
        tokens = CounterMetricFamily(
            "orbiter_llm_tokens",
            "LLM tokens used by runs, by provider, model and direction (in, out).",
            labels=["provider", "model", "direction"],
        )
        cost = CounterMetricFamily(
            "orbiter_llm_cost",
            "LLM cost of runs (priced models only), by provider and model.",
            labels=["provider", "model"],
        )
        for provider, model, t_in, t_out, spent in self.usage:
            tokens.add_metric([provider, model, "in"], t_in)
            tokens.add_metric([provider, model, "out"], t_out)
            if spent is not None:
                cost.add_metric([provider, model], spent)
        yield tokens
        yield cost


def install_monitoring_metrics(metrics: Metrics | None) -> Metrics | None:
    """Add the runs' and LLM usage series to the app's metrics (when enabled)."""
    if metrics is None:
        return None
    collector = RunsAndUsage(metrics.engine)
    metrics.registry.register(collector)
    metrics.refresh_before_scrape(collector.refresh)
    return metrics
