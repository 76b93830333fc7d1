"""`POST /infrastructure/projects/{id}/deploy`: start a deployment in a transaction of its
own (its job goes once that commits), then wait a bounded time for it to end up `live` or
`failed`, polling its row."""

from __future__ import annotations

import asyncio
import time
import uuid

from sqlalchemy import select

from orbiter.core.db import transaction
from orbiter.infrastructure.deploy import records
from orbiter.infrastructure.deploy.schemas import ProjectDeployResult
from orbiter.models import AppDeployment, Role, Workspace
from orbiter.queue import send_pending
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project, load_reference

POLL_SECONDS = 0.1
SETTLED = frozenset({"live", "failed", "stopped"})


async def deploy_and_wait(
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    workspace_id: uuid.UUID | None,
) -> ProjectDeployResult:
    async with transaction(resources.sessionmaker) as db:
        await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
        if workspace_id is None:
            workspace = await records.main_workspace(db, project_id=project_id)
        else:
            workspace = await load_reference(
                db,
                Workspace,
                workspace_id,
                project_id=project_id,
                field="workspace_id",
                label="Workspace",
            )
        deployment, token = await records.start_deployment(
            db, workspace=workspace, user_id=user_id, trigger="manual"
        )
    await send_pending(resources.queue, db)
    row = await _wait(resources, deployment.id, resources.settings.deploy_wait_seconds)
    return ProjectDeployResult(
        success=row.status != "failed",
        deployment_id=row.id,
        status=row.status,
        url=row.url,
        resources=list(row.provisioned_resources),
        provisioned_resources=[r for r in row.provisioned_resources if r.get("created")],
        error=row.error,
        callback_token=token,
    )


async def _wait(resources: Resources, deployment_id: uuid.UUID, seconds: float) -> AppDeployment:
    deadline = time.monotonic() + seconds
    while True:
        async with resources.sessionmaker() as db:
            row = await db.scalar(select(AppDeployment).where(AppDeployment.id == deployment_id))
        assert row is not None
        if row.status in SETTLED or time.monotonic() >= deadline:
            return row
        await asyncio.sleep(POLL_SECONDS)
