"""/api/v1/snapshots/{id} and /api/v1/projects/{project_id}/snapshots."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, ResourcesDep
from orbiter.snapshots import service
from orbiter.snapshots.dependencies import SnapshotPage
from orbiter.snapshots.schemas import (
    SnapshotCreate,
    SnapshotCreated,
    SnapshotDiff,
    SnapshotEnvelope,
    SnapshotRead,
)

router = APIRouter(prefix="/snapshots", tags=["snapshots"])
project_router = APIRouter(prefix="/projects/{project_id}/snapshots", tags=["snapshots"])


CREATE_RESPONSES: dict[int | str, dict[str, object]] = {
    200: {"model": SnapshotCreated, "description": "`snapshot_id` named an existing snapshot"},
}


@project_router.post(
    "",
    status_code=201,
    response_model=SnapshotCreated,
    responses=CREATE_RESPONSES,
    summary="Register a snapshot",
)
async def create_snapshot(
    project_id: uuid.UUID,
    body: SnapshotCreate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> SnapshotCreated:
    """Register a snapshot of an uploaded manifest (editor or owner). Idempotent by
    `snapshot_id`: 201 when created, 200 with `created: false` when it already exists."""
    snapshot, created = await service.create_snapshot(
        db, resources.blobs, user_id=principal.user_id, project_id=project_id, body=body
    )
    if not created:
        response.status_code = 200
    return SnapshotCreated(snapshot=snapshot, created=created)


@project_router.get("", response_model=Page[SnapshotRead], summary="List snapshots")
async def list_snapshots(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: SnapshotPage,
) -> Page[SnapshotRead]:
    """The project's snapshots, newest first."""
    data, info = await service.list_project_snapshots(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get("/{snapshot_id}", response_model=SnapshotEnvelope, summary="Get a snapshot")
async def get_snapshot(
    snapshot_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> SnapshotEnvelope:
    snapshot = await service.get_snapshot(db, user_id=principal.user_id, snapshot_id=snapshot_id)
    return SnapshotEnvelope(snapshot=snapshot)


@router.get(
    "/{snapshot_id}/diff", response_model=SnapshotDiff, summary="Compare a snapshot with another"
)
async def diff_snapshot(
    snapshot_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    against: Annotated[
        uuid.UUID | None,
        Query(description="Snapshot of the same project to compare with (default: first parent)"),
    ] = None,
) -> SnapshotDiff:
    """Paths added, modified and deleted since `against`; without a parent, everything is added."""
    return await service.diff_snapshot(
        db, resources.blobs, user_id=principal.user_id, snapshot_id=snapshot_id, against=against
    )
