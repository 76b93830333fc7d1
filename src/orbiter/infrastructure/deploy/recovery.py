"""Deployments whose job or worker was lost (the `deploy.recover` tick, once per tick across
workers).

* A deployment still `queued` `RESEND_AFTER_SECONDS` after it was last touched lost its job
  (the send after commit failed, a worker died holding it): the job is sent again; the claim
  (`queued` → `building`) makes a second delivery harmless.
* One `building` or `deploying` for longer than its build and health check can take lost its
  worker: it is `failed` ("the worker running it stopped").

A `live` app whose process died without stopping it (killed) is found by the processes of
its host (`LocalApps.reap_dead`).
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from orbiter.core.db import transaction
from orbiter.core.errors import Conflict
from orbiter.core.time import utcnow
from orbiter.infrastructure.deploy.records import deploy_job
from orbiter.infrastructure.deploy.reporting import append_logs, report_status
from orbiter.models import AppDeployment
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.deploy")

RECOVER_EVERY_SECONDS = 10.0
RESEND_AFTER_SECONDS = 30.0
MARGIN_SECONDS = 60.0
BATCH = 200
LOST = "the worker running it stopped"


async def recover_deployments(resources: Resources) -> int:
    now = utcnow()
    settings = resources.settings
    stale = now - timedelta(
        seconds=settings.deploy_build_seconds + settings.deploy_health_seconds + MARGIN_SECONDS
    )
    async with resources.sessionmaker() as db:
        queued = list(
            await db.scalars(
                select(AppDeployment.id)
                .where(
                    AppDeployment.status == "queued",
                    AppDeployment.updated_at < now - timedelta(seconds=RESEND_AFTER_SECONDS),
                )
                .limit(BATCH)
            )
        )
        lost = list(
            await db.scalars(
                select(AppDeployment.id)
                .where(
                    AppDeployment.status.in_(("building", "deploying")),
                    AppDeployment.updated_at < stale,
                )
                .limit(BATCH)
            )
        )
    for deployment_id in queued:
        await resources.queue.send(deploy_job(deployment_id))
    for deployment_id in lost:
        async with transaction(resources.sessionmaker) as db:
            try:
                await report_status(db, deployment_id, "failed", error=LOST)
            except Conflict:
                continue
            await append_logs(db, deployment_id, "system", [f"failed: {LOST}"])
    if queued or lost:
        logger.info("deployments: %d sent again, %d lost their worker", len(queued), len(lost))
    return len(queued) + len(lost)
