"""Workspaces: a project's working copies and which one is main.

Their current manifest is in `current_manifest`, their drift against each other in
`drift_reports`.
"""

from __future__ import annotations

import uuid

from sqlalchemy import delete, exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.db import delete_one
from orbiter.core.errors import Conflict, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.core.time import utcnow
from orbiter.models import Role, Snapshot, Workspace
from orbiter.snapshots.schemas import SnapshotRead
from orbiter.snapshots.service import page_snapshots
from orbiter.tenancy.access import load_project, load_reference
from orbiter.tenancy.events import record_event
from orbiter.workspaces.access import load_workspace, workspace_read
from orbiter.workspaces.drift_reports import latest_reports, report_read
from orbiter.workspaces.schemas import (
    HeartbeatResult,
    SetMainResult,
    WorkspaceCreate,
    WorkspaceListItem,
    WorkspaceRead,
    WorkspaceUpdate,
)


async def _lock_project(db: AsyncSession, workspace: Workspace, user_id: uuid.UUID) -> Workspace:
    """Serialise main-workspace changes per project, then re-read the workspace (gone: a
    racing request deleted it)."""
    await load_project(
        db, user_id=user_id, project_id=workspace.project_id, min_role=Role.EDITOR, lock=True
    )
    fresh = await db.get(Workspace, workspace.id, populate_existing=True)
    if fresh is None:
        raise NotFound("Workspace not found")
    return fresh


def _duplicate(name: str) -> Conflict:
    return Conflict(
        "This project already has a workspace with this name",
        details={"field": "name", "name": name},
    )


async def _name_taken(
    db: AsyncSession, project_id: uuid.UUID, name: str, but: uuid.UUID | None = None
) -> bool:
    clause = exists().where(Workspace.project_id == project_id, Workspace.name == name)
    if but is not None:
        clause = clause.where(Workspace.id != but)
    return bool(await db.scalar(select(clause)))


async def _check_base_snapshot(
    db: AsyncSession, project_id: uuid.UUID, base_snapshot_id: uuid.UUID
) -> None:
    await load_reference(
        db,
        Snapshot,
        base_snapshot_id,
        project_id=project_id,
        field="base_snapshot_id",
        label="Snapshot",
    )


async def create_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, body: WorkspaceCreate
) -> WorkspaceRead:
    """Editor or owner. The project's first workspace becomes its main workspace."""
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR, lock=True)
    if body.base_snapshot_id is not None:
        await _check_base_snapshot(db, project_id, body.base_snapshot_id)
    if await _name_taken(db, project_id, body.name):
        raise _duplicate(body.name)
    has_main = await db.scalar(
        select(exists().where(Workspace.project_id == project_id, Workspace.is_main.is_(True)))
    )
    workspace = Workspace(
        project_id=project_id,
        name=body.name,
        machine_id=body.machine_id,
        local_path=body.local_path,
        base_snapshot_id=body.base_snapshot_id,
        is_main=not has_main,
        version=0,
        created_by=user_id,
    )
    try:
        async with db.begin_nested():
            db.add(workspace)
    except IntegrityError as exc:  # the project lock makes this a backstop
        if await _name_taken(db, project_id, body.name):
            raise _duplicate(body.name) from exc
        raise Conflict("Another workspace became main at the same time; try again") from exc
    await record_event(
        db,
        project_id=project_id,
        actor_id=user_id,
        type="workspace.created",
        data={
            "workspace_id": str(workspace.id),
            "name": workspace.name,
            "is_main": workspace.is_main,
        },
    )
    return workspace_read(workspace)


async def workspace_items(db: AsyncSession, workspaces: list[Workspace]) -> list[WorkspaceListItem]:
    reports = await latest_reports(db, [w.id for w in workspaces])
    now = utcnow()
    return [
        WorkspaceListItem(
            **workspace_read(w).model_dump(),
            latest_drift=report_read(reports[w.id], now) if w.id in reports else None,
        )
        for w in workspaces
    ]


async def list_workspaces(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[WorkspaceListItem], PageInfo]:
    """Oldest first (the main workspace is usually the first), each with its latest report."""
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(Workspace).where(Workspace.project_id == project_id)
    rows, info = await paginate(
        db,
        stmt,
        order=[Workspace.created_at, Workspace.id],
        params=params,
        codec=codec,
        descending=False,
    )
    return await workspace_items(db, [row[0] for row in rows]), info


async def project_workspaces(db: AsyncSession, *, project_id: uuid.UUID) -> list[WorkspaceListItem]:
    """All of a project's workspaces (for the project detail); access already checked."""
    stmt = (
        select(Workspace)
        .where(Workspace.project_id == project_id)
        .order_by(Workspace.created_at, Workspace.id)
    )
    return await workspace_items(db, list((await db.scalars(stmt)).all()))


async def update_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID, body: WorkspaceUpdate
) -> WorkspaceRead:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    changes = body.model_dump(exclude_unset=True)
    if "name" in changes and await _name_taken(
        db, workspace.project_id, changes["name"], but=workspace.id
    ):
        raise _duplicate(changes["name"])
    for field, value in changes.items():
        setattr(workspace, field, value)
    try:
        async with db.begin_nested():
            await db.flush()
    except IntegrityError as exc:
        raise _duplicate(str(changes.get("name"))) from exc
    await record_event(
        db,
        project_id=workspace.project_id,
        actor_id=user_id,
        type="workspace.updated",
        data={"workspace_id": str(workspace.id), "fields": sorted(changes)},
    )
    return workspace_read(workspace)


async def delete_workspace(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> None:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    workspace = await _lock_project(db, workspace, user_id)
    if workspace.is_main:
        raise Conflict(
            "This is the project's main workspace; make another workspace main first "
            "(POST /api/v1/workspaces/{id}/set-as-main)",
            details={"workspace_id": str(workspace.id), "is_main": True},
        )
    await delete_one(
        db, delete(Workspace).where(Workspace.id == workspace.id), missing="Workspace not found"
    )
    await record_event(
        db,
        project_id=workspace.project_id,
        actor_id=user_id,
        type="workspace.deleted",
        data={"workspace_id": str(workspace.id), "name": workspace.name},
    )


async def heartbeat(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> HeartbeatResult:
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    workspace.last_seen_at = utcnow()
    await db.flush()
    return HeartbeatResult(success=True, last_seen_at=workspace.last_seen_at)


async def set_as_main(
    db: AsyncSession, *, user_id: uuid.UUID, workspace_id: uuid.UUID
) -> SetMainResult:
    """Exactly one main workspace per project (a unique index): under the project lock, the
    old main is cleared before the new one is set."""
    workspace = await load_workspace(
        db, user_id=user_id, workspace_id=workspace_id, min_role=Role.EDITOR
    )
    workspace = await _lock_project(db, workspace, user_id)
    mains = list(
        (
            await db.scalars(
                select(Workspace.id).where(
                    Workspace.project_id == workspace.project_id, Workspace.is_main.is_(True)
                )
            )
        ).all()
    )
    if mains != [workspace.id]:
        await db.execute(
            update(Workspace)
            .where(Workspace.project_id == workspace.project_id, Workspace.id != workspace.id)
            .values(is_main=False)
            .execution_options(synchronize_session=False)
        )
        await db.execute(
            update(Workspace)
            .where(Workspace.id == workspace.id)
            .values(is_main=True)
            .execution_options(synchronize_session=False)
        )
        await record_event(
            db,
            project_id=workspace.project_id,
            actor_id=user_id,
            type="workspace.main_changed",
            data={
                "workspace_id": str(workspace.id),
                "previous_main_workspace_id": str(mains[0]) if mains else None,
            },
        )
    return SetMainResult(success=True, main_workspace_id=workspace.id)


async def list_workspace_snapshots(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    workspace_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[SnapshotRead], PageInfo]:
    workspace = await load_workspace(db, user_id=user_id, workspace_id=workspace_id)
    return await page_snapshots(
        db, project_id=workspace.project_id, workspace_id=workspace.id, params=params, codec=codec
    )
