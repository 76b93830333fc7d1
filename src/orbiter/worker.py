"""Background work: the job queue's consumer (runs) and the periodic jobs.

`orbiter worker` runs `run_worker`: with `ORBITER_REDIS_URL`, it consumes the Redis job
stream (as many worker processes as you like; each job goes to one) and runs the periodic
jobs, each once per tick across all workers. Embedded, the API process does all of this
itself (`Background` in the app's lifespan), so `make run` needs nothing more.

Periodic jobs, one line each in `periodic_jobs`:
* maintenance (every `ORBITER_MAINTENANCE_SECONDS`, default a minute): purge long-expired credentials; store replies left `streaming`
  by a process that is gone as `incomplete` (conversations/orphans.py);
* runs.reap: fail runs whose worker stopped (runs/jobs.py);
* runs.resend: send again runs left `queued` (the runs table is the queue's outbox);
* knowledge.recover: documents whose indexing worker was lost are queued again
  (knowledge/jobs.py);
* workflows.schedule (every `ORBITER_SCHEDULE_TICK_SECONDS`, default 30): start the runs of
  workflows whose schedule is due (workflows/triggers.py);
* deploy.recover: deployments whose job was lost are sent again, those whose worker was lost
  failed (infrastructure/deploy/recovery.py);
* alerts.evaluate (every `ORBITER_ALERT_EVALUATE_SECONDS`, default 60) and alerts.redeliver
  (every 5 s): evaluate the alert rules, send again the deliveries that are due
  (alerts/jobs.py). Evaluating error rate and latency reads the request counters: the app's
  own embedded (`stats`), shared through Redis otherwise.

Besides the queue's jobs, each process watches the apps it deployed (`LocalApps`,
infrastructure/deploy/local.py): they run in this process's sandboxes and stop with it.

`run_worker` also starts this host's sandbox reaper (`sandboxes.reap:<host>`, at start-up then
every `ORBITER_SANDBOX_REAP_SECONDS`, once per host whatever the number of processes on it):
a worker makes sandboxes (coding tasks, one-shot code), so a host that runs only workers frees
the leftovers of a crash or `kill -9` too (sandboxes/reaper.py). With Redis it answers the
requests other replicas relay for this host's sandboxes (sandbox/relay.py), so `/terminal` and
a web URL reach a task's sandbox on a host that runs only workers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable, Sequence
from datetime import timedelta
from functools import partial

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.action_items.analysis import register_jobs as register_action_item_jobs
from orbiter.alerts.jobs import alert_periodics, register_alert_jobs
from orbiter.coding.workspace import forget_host, process_host
from orbiter.conversations.orphans import stop_orphaned_replies
from orbiter.core.db import transaction
from orbiter.core.request_stats import RequestStats, create_request_stats
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.infrastructure.deploy import recovery as deploy_recovery
from orbiter.infrastructure.deploy.local import LocalApps
from orbiter.infrastructure.deploy.pipeline import register_deploy_jobs
from orbiter.knowledge import jobs as knowledge_jobs
from orbiter.models import AccessToken, ApiKey, DeviceAuthorization
from orbiter.queue import Periodic, Ticker
from orbiter.runs import jobs as run_jobs
from orbiter.runs.engine import Engine
from orbiter.runs.executors import load_executors
from orbiter.runtime.resources import Resources
from orbiter.workflows.triggers import fire_due_schedules

logger = logging.getLogger("orbiter.worker")
KEEP_EXPIRED = timedelta(days=1)

PeriodicFactory = Callable[[Resources], Periodic]


async def purge_expired_credentials(db: AsyncSession) -> int:
    """Expired bearer tokens, API keys and device codes are dead weight; keep a day for audit."""
    cutoff = utcnow() - KEEP_EXPIRED
    removed = 0
    for model in (AccessToken, DeviceAuthorization, ApiKey):
        result = await db.execute(delete(model).where(model.expires_at < cutoff))
        removed += result.rowcount or 0  # type: ignore[attr-defined]
    return removed


async def maintenance(resources: Resources) -> None:
    async with transaction(resources.sessionmaker) as db:
        removed = await purge_expired_credentials(db)
    stopped = await stop_orphaned_replies(resources.sessionmaker)
    logger.info(
        "maintenance: removed %d expired credentials, stopped %d orphaned replies",
        removed,
        stopped,
    )


def periodic_jobs(resources: Resources) -> list[Periodic]:
    return [
        Periodic(
            "maintenance", resources.settings.maintenance_seconds, partial(maintenance, resources)
        ),
        Periodic(
            "runs.reap", run_jobs.REAP_EVERY_SECONDS, partial(run_jobs.reap_lost_runs, resources)
        ),
        Periodic(
            "runs.resend", run_jobs.RESEND_EVERY_SECONDS, partial(run_jobs.resend_queued, resources)
        ),
        Periodic(
            "knowledge.recover",
            knowledge_jobs.RECOVER_EVERY_SECONDS,
            partial(knowledge_jobs.recover_documents, resources),
        ),
        Periodic(
            "workflows.schedule",
            resources.settings.schedule_tick_seconds,
            partial(fire_due_schedules, resources),
        ),
        Periodic(
            "deploy.recover",
            deploy_recovery.RECOVER_EVERY_SECONDS,
            partial(deploy_recovery.recover_deployments, resources),
        ),
    ]


class Background:
    """One process's share of the background work: runs the queue's jobs and the ticks."""

    def __init__(
        self,
        resources: Resources,
        extra: Sequence[PeriodicFactory] = (),
        stats: RequestStats | None = None,
    ) -> None:
        self.resources = resources
        self.engine = Engine(resources)
        self._own_stats = stats is None
        self.stats = stats or create_request_stats(resources.settings.redis_url)
        self._periodic = (
            periodic_jobs(resources)
            + alert_periodics(resources, self.stats)
            + [make(resources) for make in extra]
        )
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.deploys = LocalApps(resources)  # the apps this process deployed (local provider)

    async def start(self) -> None:
        load_executors()
        await self.engine.start()  # registers the job handlers before anything is consumed
        register_alert_jobs(self.resources)
        knowledge_jobs.register_jobs(self.resources)
        register_action_item_jobs(self.resources)
        register_deploy_jobs(self.deploys)
        await self.resources.queue.start()
        self.deploys.start_watching()
        self._tasks = [
            asyncio.create_task(self.resources.queue.consume(self._stop), name="queue-consumer"),
            asyncio.create_task(Ticker(self.resources.queue, self._periodic).run(self._stop)),
        ]

    async def stop(self) -> None:
        """Take no more jobs; wait for running ones up to ORBITER_WORKER_SHUTDOWN_SECONDS,
        then hand the runs still going back to the queue."""
        self._stop.set()
        if self._tasks:
            with contextlib.suppress(Exception):
                await self._tasks[0]  # the consumer; on Redis it waits for running jobs itself
        # On Redis the consumer already waited for running jobs: hand the rest back now.
        await self.engine.stop(None if self.resources.queue.in_process else 0)
        await self.deploys.stop()
        if self._tasks:
            await asyncio.gather(*self._tasks[1:], return_exceptions=True)
        if self._own_stats:
            await self.stats.close()

    async def run_until_stopped(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):  # a stop while starting is a clean stop too
            loop.add_signal_handler(sig, self._stop.set)
        await self.start()
        logger.info("worker started")
        await self._stop.wait()
        logger.info("worker stopping")
        await self.stop()


async def run_worker(
    settings: Settings, *, once: bool = False, extra: Sequence[PeriodicFactory] = ()
) -> None:
    """The worker until SIGTERM/SIGINT; `once`: one maintenance pass, then return."""
    logging.basicConfig(level=settings.log_level.upper())
    resources = Resources.create(settings)
    sandboxes = process_host(settings)  # the sandboxes this process's runs make live here
    try:
        if once:
            await maintenance(resources)
            return
        background = Background(resources, extra)
        sandboxes.start(resources.queue, resources.sessionmaker)  # reaps, ticks, relays
        await background.run_until_stopped()
    finally:
        forget_host(sandboxes)
        await sandboxes.stop()
        await resources.close()
