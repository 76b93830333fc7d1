"""Automatic deploys: a workspace whose deployment settings say `auto_deploy` is deployed
(trigger `auto`) each time its current files change (`workspaces.manifest_moved`, sent after
the move commits).

The deployment acts for whoever last saved the settings, while they are still an editor of
the project. A job for files that have moved on since does nothing (the later move has a job
of its own), and neither does one whose files the workspace's latest deployment already has
(a job delivered twice).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from sqlalchemy import select

from orbiter.core.db import transaction
from orbiter.core.errors import AppError
from orbiter.infrastructure.deploy.records import start_deployment
from orbiter.models import AppDeployment, DeploymentSettings, Role, Workspace
from orbiter.queue import send_pending
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import load_project

logger = logging.getLogger("orbiter.deploy")


async def handle_manifest_moved(resources: Resources, payload: dict[str, Any]) -> None:
    workspace_id = uuid.UUID(str(payload["workspace_id"]))
    manifest_hash = str(payload["manifest_hash"])
    async with transaction(resources.sessionmaker) as db:
        settings = await db.get(DeploymentSettings, workspace_id)
        workspace = await db.get(Workspace, workspace_id)
        if settings is None or not settings.auto_deploy or settings.updated_by is None:
            return
        if workspace is None or workspace.current_manifest_hash != manifest_hash:
            return
        latest = await db.scalar(
            select(AppDeployment.manifest_hash)
            .where(AppDeployment.workspace_id == workspace_id)
            .order_by(AppDeployment.created_at.desc(), AppDeployment.id.desc())
            .limit(1)
        )
        if latest == manifest_hash:
            return
        try:
            await load_project(
                db,
                user_id=settings.updated_by,
                project_id=workspace.project_id,
                min_role=Role.EDITOR,
            )
        except AppError:
            logger.info(
                "auto deploy of %s skipped: its settings' author is no editor", workspace_id
            )
            return
        await start_deployment(db, workspace=workspace, user_id=settings.updated_by, trigger="auto")
    await send_pending(resources.queue, db)
