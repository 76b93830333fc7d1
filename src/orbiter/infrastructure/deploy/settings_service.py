"""A workspace's deployment settings: the defaults until someone saves them."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.infrastructure.deploy.planning import DEFAULT_HEALTH_PATH
from orbiter.infrastructure.deploy.schemas import DeploymentSettingsRead, DeploymentSettingsUpdate
from orbiter.models import DeploymentSettings, Role
from orbiter.workspaces.access import load_workspace


async def get_settings(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> DeploymentSettingsRead:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    row = await db.get(DeploymentSettings, workspace_id)
    if row is None:
        return DeploymentSettingsRead(
            workspace_id=workspace_id,
            project_id=workspace.project_id,
            auto_deploy=False,
            runtime_override=None,
            build_command=None,
            start_command=None,
            health_check_path=DEFAULT_HEALTH_PATH,
            updated_at=None,
        )
    return DeploymentSettingsRead.model_validate(row)


async def update_settings(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    body: DeploymentSettingsUpdate,
) -> DeploymentSettingsRead:
    """Editor or owner. Fields left out keep their value; null clears an override."""
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    row = await db.get(DeploymentSettings, workspace_id)
    if row is None:
        row = DeploymentSettings(
            workspace_id=workspace_id,
            project_id=workspace.project_id,
            auto_deploy=False,
            health_check_path=DEFAULT_HEALTH_PATH,
        )
        db.add(row)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is None and name in ("auto_deploy", "health_check_path"):
            value = False if name == "auto_deploy" else DEFAULT_HEALTH_PATH
        setattr(row, name, value)
    row.updated_by = user_id
    await db.flush()
    await db.refresh(row)
    return DeploymentSettingsRead.model_validate(row)


async def settings_for(db: AsyncSession, workspace_id: uuid.UUID) -> DeploymentSettings | None:
    """For the pipeline (no caller): the saved settings, or None for the defaults."""
    return await db.get(DeploymentSettings, workspace_id)
