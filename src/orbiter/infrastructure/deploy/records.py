"""Deployment rows: starting one (the job goes after commit), loading and listing them
through the caller's project membership, their logs, and a project's failed ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import NotFound, ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.security import hash_secret, new_secret
from orbiter.models import AppDeployment, AppDeploymentLog, Role, Snapshot, Workspace
from orbiter.queue import Job, after_commit
from orbiter.tenancy.access import load_project_row
from orbiter.workspaces.access import load_workspace

DEPLOY_JOB = "infrastructure.deploy"


def deploy_job(deployment_id: uuid.UUID) -> Job:
    return Job(DEPLOY_JOB, {"deployment_id": str(deployment_id)})


async def start_deployment(
    db: AsyncSession,
    *,
    workspace: Workspace,
    user_id: uuid.UUID | None,
    trigger: str,
    conversation_id: uuid.UUID | None = None,
) -> tuple[AppDeployment, str]:
    """A `queued` deployment of the workspace's current files, its job sent after commit;
    and its callback token (shown once). 422 when the workspace has no files yet."""
    if not workspace.current_manifest_hash:
        raise ValidationFailed.for_field(
            "workspace_id", "The workspace has no files yet (no current manifest)", "no_files"
        )
    token = new_secret()
    deployment = AppDeployment(
        project_id=workspace.project_id,
        workspace_id=workspace.id,
        conversation_id=conversation_id,
        created_by=user_id,
        trigger=trigger,
        provider="local",
        manifest_hash=workspace.current_manifest_hash,
        snapshot_id=await _snapshot_of(db, workspace),
        status="queued",
        plan={},
        provisioned_resources=[],
        token_hash=hash_secret(token),
    )
    db.add(deployment)
    await db.flush()
    after_commit(db, deploy_job(deployment.id))
    return deployment, token


async def deploy_workspace(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    trigger: str,
    conversation_id: uuid.UUID | None = None,
) -> tuple[AppDeployment, str]:
    """Editor or owner of the workspace's project (404 when not a member)."""
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    return await start_deployment(
        db,
        workspace=workspace,
        user_id=user_id,
        trigger=trigger,
        conversation_id=conversation_id,
    )


async def _snapshot_of(db: AsyncSession, workspace: Workspace) -> uuid.UUID | None:
    """The workspace's latest snapshot of its current files, when it has one."""
    return await db.scalar(
        select(Snapshot.id)
        .where(
            Snapshot.workspace_id == workspace.id,
            Snapshot.manifest_hash == workspace.current_manifest_hash,
        )
        .order_by(Snapshot.created_at.desc(), Snapshot.id.desc())
        .limit(1)
    )


async def main_workspace(db: AsyncSession, *, project_id: uuid.UUID) -> Workspace:
    workspace = await db.scalar(
        select(Workspace).where(Workspace.project_id == project_id, Workspace.is_main.is_(True))
    )
    if workspace is None:
        raise ValidationFailed.for_field(
            "workspace_id", "The project has no main workspace to deploy", "no_workspace"
        )
    return workspace


async def load_deployment(
    db: AsyncSession, *, user_id: uuid.UUID, deployment_id: uuid.UUID
) -> AppDeployment:
    return await load_project_row(
        db, AppDeployment, deployment_id, user_id=user_id, label="Deployment"
    )


async def list_workspace_deployments(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AppDeployment], PageInfo]:
    """Newest first."""
    await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    stmt = select(AppDeployment).where(AppDeployment.workspace_id == workspace_id)
    return await _page(db, stmt, params, codec)


async def list_conversation_deployments(
    db: AsyncSession, *, conversation_id: uuid.UUID, params: PageParams, codec: CursorCodec
) -> tuple[list[AppDeployment], PageInfo]:
    """Newest first; the caller has loaded the conversation through its membership."""
    stmt = select(AppDeployment).where(AppDeployment.conversation_id == conversation_id)
    return await _page(db, stmt, params, codec)


async def _page(
    db: AsyncSession, stmt: Select[AppDeployment], params: PageParams, codec: CursorCodec
) -> tuple[list[AppDeployment], PageInfo]:
    order = [AppDeployment.created_at, AppDeployment.id]
    rows, info = await paginate(db, stmt, order=order, params=params, codec=codec)
    return [row[0] for row in rows], info


async def conversation_deployment_logs(
    db: AsyncSession,
    *,
    conversation_id: uuid.UUID,
    deployment_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AppDeploymentLog], PageInfo]:
    """Oldest line first; 404 unless the deployment was started from this conversation."""
    deployment = await db.get(AppDeployment, deployment_id)
    if deployment is None or deployment.conversation_id != conversation_id:
        raise NotFound("Deployment not found")
    stmt = select(AppDeploymentLog).where(AppDeploymentLog.deployment_id == deployment_id)
    rows, info = await paginate(
        db, stmt, order=[AppDeploymentLog.seq], params=params, codec=codec, descending=False
    )
    return [row[0] for row in rows], info


async def failed_deployments(
    db: AsyncSession, *, project_ids: Sequence[uuid.UUID], limit: int = 100
) -> list[AppDeployment]:
    """The projects' failed deployments that are each workspace's latest deployment (a later
    one, live or not, supersedes a failure), newest first: what needs someone's attention."""
    rows = await db.scalars(
        select(AppDeployment)
        .where(AppDeployment.project_id.in_(project_ids))
        .order_by(AppDeployment.created_at.desc(), AppDeployment.id.desc())
    )
    seen: set[uuid.UUID | None] = set()
    failed: list[AppDeployment] = []
    for deployment in rows:
        key = deployment.workspace_id or deployment.id
        if key in seen:
            continue
        seen.add(key)
        if deployment.status == "failed":
            failed.append(deployment)
            if len(failed) >= limit:
                break
    return failed
