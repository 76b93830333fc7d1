"""Deployments whose job or worker was lost are recovered by the `deploy.recover` tick: one
left `queued` (its job never reached the queue) is sent again and goes live; one stuck
`building` past its build and health-check time is `failed`, saying why, and its app stops."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.infrastructure.deploy.records import DEPLOY_JOB
from orbiter.infrastructure.deploy.recovery import LOST, recover_deployments
from orbiter.models import AppDeployment, AppDeploymentLog
from orbiter.queue import Job
from orbiter.runtime.resources import Resources
from tests.helpers import API
from tests.infrastructure.util import app_workspace, deployments, wait_for, wait_unreachable

pytestmark = pytest.mark.usefixtures("deploys")


async def _backdate(resources: Resources, deployment_id: str, **values: Any) -> None:
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(AppDeployment)
            .where(AppDeployment.id == uuid.UUID(deployment_id))
            .values(updated_at=utcnow() - timedelta(days=1), **values)
        )


async def test_lost_deploy_jobs_are_sent_again_and_lost_workers_fail_the_deployment(
    app: FastAPI, browser: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    resources: Resources = app.state.resources
    ids = await app_workspace(browser)
    send = resources.queue.send

    async def lose_deploys(job: Job) -> None:
        if job.name == DEPLOY_JOB:
            raise ConnectionError("the queue is down")
        await send(job)

    monkeypatch.setattr(resources.queue, "send", lose_deploys)
    queued = await browser.post(f"{API}/workspaces/{ids['workspace']}/deploy")
    assert queued.status_code == 202, queued.text
    deployment_id = queued.json()["deployment_id"]
    monkeypatch.undo()
    assert [d["status"] for d in await deployments(browser, ids["workspace"])] == ["queued"]

    await _backdate(resources, deployment_id)
    # (the periodic tick may get there first: either way, one recovery)
    assert await recover_deployments(resources) in (0, 1)
    live = await wait_for(browser, ids["workspace"], deployment_id, "live", "failed")
    assert live["status"] == "live", live

    await _backdate(resources, deployment_id, status="building")  # as if its worker died
    assert await recover_deployments(resources) in (0, 1)
    failed = await wait_for(browser, ids["workspace"], deployment_id, "failed")
    assert failed["error"] == LOST
    async with resources.sessionmaker() as db:
        lines = await db.scalars(
            select(AppDeploymentLog.line).where(
                AppDeploymentLog.deployment_id == uuid.UUID(deployment_id)
            )
        )
        assert f"failed: {LOST}" in list(lines)
    await wait_unreachable(live["url"])  # its host's watcher stops an app that is not live
    assert await recover_deployments(resources) == 0
