"""Deployments: CRUD, the deployment key, and redeploying. A deployment belongs to a project:
members see it, editors and owners create, change, redeploy and delete it.

A deployment publishes an agent or a workflow of its project at the version current when it
was made (`pinning.pin_target`); `redeploy` pins the version current now. Invoking it is in
`invoking.py`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.deployments.keys import issue_key
from orbiter.deployments.pinning import pin_target
from orbiter.deployments.schemas import (
    DeploymentCreate,
    DeploymentCreated,
    DeploymentRead,
    DeploymentUpdate,
    TargetType,
)
from orbiter.models import Deployment, Role
from orbiter.tenancy.access import load_project, load_project_row, member_project_ids
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal


def deployment_read(row: Deployment) -> DeploymentRead:
    return DeploymentRead(
        id=row.id,
        project_id=row.project_id,
        created_by=row.created_by,
        name=row.name,
        target_type=row.target_type,
        target_id=row.target_id,
        target_version=row.target_version,
        pinned=row.pinned,
        environment=row.environment,
        config=row.config,
        key_prefix=row.key_prefix,
        key_active=row.key_hash is not None,
        key_revoked_at=row.key_revoked_at,
        last_invoked_at=row.last_invoked_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _created(row: Deployment, key: str) -> DeploymentCreated:
    return DeploymentCreated(**deployment_read(row).model_dump(), key=key)


async def load_deployment(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    deployment_id: uuid.UUID,
    min_role: Role = Role.VIEWER,
) -> Deployment:
    return await load_project_row(
        db, Deployment, deployment_id, user_id=user_id, min_role=min_role, label="Deployment"
    )


async def _event(db: AsyncSession, row: Deployment, user_id: uuid.UUID, type_: str) -> None:
    await record_event(
        db,
        project_id=row.project_id,
        actor_id=user_id,
        type=type_,
        data={
            "deployment_id": str(row.id),
            "name": row.name,
            "target_type": row.target_type,
            "target_id": str(row.target_id),
            "target_version": row.target_version,
        },
    )


async def list_deployments(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
    target_type: TargetType | None = None,
    target_id: uuid.UUID | None = None,
) -> tuple[list[DeploymentRead], PageInfo]:
    """Deployments of the caller's projects (or of one, or of one target), newest first."""
    stmt = select(Deployment).where(Deployment.project_id.in_(member_project_ids(user_id)))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        stmt = stmt.where(Deployment.project_id == project_id)
    if target_type is not None:
        stmt = stmt.where(Deployment.target_type == target_type)
    if target_id is not None:
        stmt = stmt.where(Deployment.target_id == target_id)
    rows, info = await paginate(
        db, stmt, order=[Deployment.created_at, Deployment.id], params=params, codec=codec
    )
    return [deployment_read(row[0]) for row in rows], info


async def create_deployment(
    db: AsyncSession, *, user_id: uuid.UUID, body: DeploymentCreate
) -> DeploymentCreated:
    """The deployment, pinned to its target's current version, with a new key (shown once)."""
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    pin = await pin_target(
        db, project_id=project_id, target_type=body.target_type, target_id=body.target_id
    )
    row = Deployment(
        project_id=project_id,
        created_by=user_id,
        name=body.name,
        target_type=body.target_type,
        target_id=body.target_id,
        target_version=pin.target_version,
        pinned=pin.pinned,
        environment=body.environment,
        config=body.config,
    )
    key = issue_key(row)
    db.add(row)
    await db.flush()
    await _event(db, row, user_id, "deployment.created")
    return _created(row, key)


async def get_deployment(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID
) -> DeploymentRead:
    return deployment_read(await load_deployment(db, user_id=user_id, deployment_id=deployment_id))


async def update_deployment(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID, body: DeploymentUpdate
) -> DeploymentRead:
    row = await load_deployment(
        db, user_id=user_id, deployment_id=deployment_id, min_role=Role.EDITOR
    )
    for name in body.model_fields_set:
        setattr(row, name, getattr(body, name))
    await db.flush()
    await db.refresh(row)
    return deployment_read(row)


async def delete_deployment(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID
) -> None:
    """Delete it (its key dies with it); its runs stay in the history."""
    row = await load_deployment(
        db, user_id=user_id, deployment_id=deployment_id, min_role=Role.EDITOR
    )
    await delete_one(
        db, delete(Deployment).where(Deployment.id == row.id), missing="Deployment not found"
    )
    await _event(db, row, user_id, "deployment.deleted")


async def rotate_key(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID
) -> DeploymentCreated:
    """A new key (shown once); the one before stops working."""
    row = await load_deployment(
        db, user_id=user_id, deployment_id=deployment_id, min_role=Role.EDITOR
    )
    key = issue_key(row)
    await db.flush()
    await db.refresh(row)
    return _created(row, key)


async def revoke_key(db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID) -> None:
    """No key works for the deployment any more (members still invoke it with their own
    credentials) until a new one is made."""
    row = await load_deployment(
        db, user_id=user_id, deployment_id=deployment_id, min_role=Role.EDITOR
    )
    if row.key_hash is not None:
        row.key_hash = None
        row.key_revoked_at = utcnow()
        await db.flush()


async def redeploy(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID
) -> DeploymentRead:
    """Pin the target's version current now (editors); 422 when the target is gone."""
    row = await load_deployment(
        db, user_id=user_id, deployment_id=deployment_id, min_role=Role.EDITOR
    )
    pin = await pin_target(
        db, project_id=row.project_id, target_type=row.target_type, target_id=row.target_id
    )
    row.target_version, row.pinned = pin.target_version, pin.pinned
    await db.flush()
    await db.refresh(row)
    await _event(db, row, user_id, "deployment.redeployed")
    return deployment_read(row)
