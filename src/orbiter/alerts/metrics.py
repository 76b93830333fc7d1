"""The alerts' series on `/metrics`, read from the database before each scrape (every replica
serves the same totals, whichever worker evaluated or delivered):

- `orbiter_alert_evaluations_total`: evaluations of the alert rules that exist (a rule's
  count goes with it when it is deleted, which Prometheus reads as a counter reset);
- `orbiter_alert_deliveries_total{channel,outcome}`: webhook and email delivery attempts
  (`channel` webhook or email, `outcome` succeeded or failed), every one recorded;
- `orbiter_alert_rules{state}`: enabled rules by state (`ok`, `firing`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.db import read_only
from orbiter.core.metrics import Metrics
from orbiter.models import AlertDelivery, AlertRule
from orbiter.models.alerts import ATTEMPT_STATUSES, CHANNELS, RULE_STATES


class AlertSeries(Collector):
    def __init__(self, engine: Callable[[], AsyncEngine | None]) -> None:
        self._engine = engine
        self.evaluations = 0
        self.deliveries: dict[tuple[str, str], int] = {}
        self.rules: dict[str, int] = {}

    async def refresh(self) -> None:
        engine = self._engine()
        if engine is None:
            return
        evaluations = select(func.coalesce(func.sum(AlertRule.evaluations), 0))
        deliveries = select(AlertDelivery.channel, AlertDelivery.status, func.count()).group_by(
            AlertDelivery.channel, AlertDelivery.status
        )
        rules = (
            select(AlertRule.state, func.count())
            .where(AlertRule.enabled.is_(True))
            .group_by(AlertRule.state)
        )
        async with read_only(engine) as conn:
            total = int((await conn.execute(evaluations)).scalar_one())
            by_outcome = {(c, s): int(n) for c, s, n in (await conn.execute(deliveries)).all()}
            by_state = {state: int(n) for state, n in (await conn.execute(rules)).all()}
        self.evaluations, self.deliveries, self.rules = total, by_outcome, by_state

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "orbiter_alert_evaluations",
            "Evaluations of the alert rules that exist.",
            value=self.evaluations,
        )
        deliveries = CounterMetricFamily(
            "orbiter_alert_deliveries",
            "Alert delivery attempts by channel (webhook, email) and outcome.",
            labels=["channel", "outcome"],
        )
        for channel in CHANNELS:
            for outcome in ATTEMPT_STATUSES:
                deliveries.add_metric(
                    [channel, outcome], self.deliveries.get((channel, outcome), 0)
                )
        yield deliveries
        rules = GaugeMetricFamily(
            "orbiter_alert_rules", "Enabled alert rules by state.", labels=["state"]
        )
        for state in RULE_STATES:
            rules.add_metric([state], self.rules.get(state, 0))
        yield rules


def install_alert_metrics(metrics: Metrics | None) -> Metrics | None:
    """Add the alerts' series to the app's metrics (when enabled)."""
    if metrics is None:
        return None
    collector = AlertSeries(metrics.engine)
    metrics.registry.register(collector)
    metrics.refresh_before_scrape(collector.refresh)
    return metrics
