"""The alerts' background work, wired by the worker (`orbiter worker`, or the app's own
process embedded): the delivery job's handler and the two periodic jobs."""

from __future__ import annotations

from functools import partial

from orbiter.alerts.deliveries import (
    DELIVER_JOB,
    REDELIVER_EVERY_SECONDS,
    handle_delivery,
    resend_due,
)
from orbiter.alerts.evaluate import evaluate_rules
from orbiter.core.request_stats import RequestStats
from orbiter.queue import Periodic
from orbiter.runtime.resources import Resources

EVALUATE = "alerts.evaluate"
REDELIVER = "alerts.redeliver"


def register_alert_jobs(resources: Resources) -> None:
    resources.queue.register(DELIVER_JOB, partial(handle_delivery, resources))


def alert_periodics(resources: Resources, stats: RequestStats) -> list[Periodic]:
    return [
        Periodic(
            EVALUATE,
            resources.settings.alert_evaluate_seconds,
            partial(evaluate_rules, resources, stats),
        ),
        Periodic(REDELIVER, REDELIVER_EVERY_SECONDS, partial(resend_due, resources)),
    ]
