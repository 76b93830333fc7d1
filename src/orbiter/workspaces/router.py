"""/api/v1/workspaces/{id} and /api/v1/projects/{project_id}/workspaces."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.snapshots.dependencies import SnapshotPage
from orbiter.snapshots.schemas import SnapshotRead
from orbiter.workspaces import current_manifest, drift_reports, service
from orbiter.workspaces.schemas import (
    CurrentManifestResult,
    CurrentManifestUpdate,
    DriftCompareResult,
    DriftReportCreate,
    DriftReportEnvelope,
    DriftReportList,
    HeartbeatResult,
    SetMainResult,
    WorkspaceCreate,
    WorkspaceDetail,
    WorkspaceListItem,
    WorkspaceRead,
    WorkspaceUpdate,
)

router = APIRouter(prefix="/workspaces", tags=["workspaces"])
project_router = APIRouter(prefix="/projects/{project_id}/workspaces", tags=["workspaces"])


@project_router.post(
    "", status_code=201, response_model=WorkspaceRead, summary="Create a workspace"
)
async def create_workspace(
    project_id: uuid.UUID, body: WorkspaceCreate, principal: CurrentPrincipal, db: DbSession
) -> WorkspaceRead:
    """Editor or owner. The project's first workspace becomes its main workspace."""
    return await service.create_workspace(
        db, user_id=principal.user_id, project_id=project_id, body=body
    )


@project_router.get("", response_model=Page[WorkspaceListItem], summary="List workspaces")
async def list_workspaces(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[WorkspaceListItem]:
    """Oldest first, each with its latest drift report."""
    data, info = await service.list_workspaces(
        db, user_id=principal.user_id, project_id=project_id, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get(
    "/{workspace_id}", response_model=WorkspaceDetail, summary="Get a workspace and its drift"
)
async def get_workspace(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> WorkspaceDetail:
    """The workspace and its drift against the project's main workspace (stored as a compare
    report; the same two states reuse the last report, whose staleness then grows)."""
    return await drift_reports.workspace_detail(
        db, resources.blobs, user_id=principal.user_id, workspace_id=workspace_id
    )


@router.patch("/{workspace_id}", response_model=WorkspaceRead, summary="Update a workspace")
async def update_workspace(
    workspace_id: uuid.UUID, body: WorkspaceUpdate, principal: CurrentPrincipal, db: DbSession
) -> WorkspaceRead:
    """Rename it, or record that it moved (`local_path`) or changed machine."""
    return await service.update_workspace(
        db, user_id=principal.user_id, workspace_id=workspace_id, body=body
    )


@router.delete("/{workspace_id}", status_code=204, summary="Delete a workspace")
async def delete_workspace(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Not the main workspace (409): make another one main first. Its snapshots stay."""
    await service.delete_workspace(db, user_id=principal.user_id, workspace_id=workspace_id)
    return Response(status_code=204)


@router.post(
    "/{workspace_id}/heartbeat", response_model=HeartbeatResult, summary="Record a heartbeat"
)
async def heartbeat(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> HeartbeatResult:
    return await service.heartbeat(db, user_id=principal.user_id, workspace_id=workspace_id)


@router.post(
    "/{workspace_id}/current-manifest",
    response_model=CurrentManifestResult,
    summary="Set the current manifest",
)
async def set_current_manifest(
    workspace_id: uuid.UUID,
    body: CurrentManifestUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> CurrentManifestResult:
    """Compare-and-set the workspace's current manifest. With `previous_manifest_hash` (null
    meaning "none yet") it only moves if that is still current, else 409 with
    `details: {updated: false, conflict: true, current_manifest_hash}`."""
    return await current_manifest.set_current_manifest(
        db,
        resources.blobs,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        manifest_hash=body.manifest_hash,
        previous=body.previous_manifest_hash,
        check_previous="previous_manifest_hash" in body.model_fields_set,
    )


@router.post(
    "/{workspace_id}/drift",
    status_code=201,
    response_model=DriftReportEnvelope,
    summary="Report drift",
)
async def report_drift(
    workspace_id: uuid.UUID, body: DriftReportCreate, principal: CurrentPrincipal, db: DbSession
) -> DriftReportEnvelope:
    """Store drift measured by a CLI (`kind: reported`)."""
    report = await drift_reports.report_drift(
        db, user_id=principal.user_id, workspace_id=workspace_id, body=body
    )
    return DriftReportEnvelope(drift_report=report)


@router.get("/{workspace_id}/drift", response_model=DriftReportList, summary="List drift reports")
async def list_drift_reports(
    workspace_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    limit: Annotated[int, Query(ge=1, description="At most 100")] = 10,
) -> DriftReportList:
    """Recent drift reports, newest first, and the latest one."""
    return await drift_reports.list_drift_reports(
        db, user_id=principal.user_id, workspace_id=workspace_id, limit=limit
    )


@router.get(
    "/{workspace_id}/drift/compare",
    response_model=DriftCompareResult,
    summary="Compare with another workspace",
)
async def compare_drift(
    workspace_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    source_workspace_id: Annotated[
        uuid.UUID | None,
        Query(description="Workspace of the same project to compare with (default: main)"),
    ] = None,
    include_dirty: Annotated[
        bool, Query(description="Use current manifests rather than the latest snapshots")
    ] = True,
) -> DriftCompareResult:
    """File-level drift against another workspace; every compare is stored as a report."""
    return await drift_reports.compare_workspaces(
        db,
        resources.blobs,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        source_workspace_id=source_workspace_id,
        include_dirty=include_dirty,
    )


@router.post(
    "/{workspace_id}/set-as-main",
    response_model=SetMainResult,
    summary="Make it the main workspace",
)
async def set_as_main(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> SetMainResult:
    return await service.set_as_main(db, user_id=principal.user_id, workspace_id=workspace_id)


@router.get(
    "/{workspace_id}/snapshots",
    response_model=Page[SnapshotRead],
    summary="List a workspace's snapshots",
)
async def list_workspace_snapshots(
    workspace_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: SnapshotPage,
) -> Page[SnapshotRead]:
    """Snapshots taken in this workspace, newest first (`?limit=50`, at most 100)."""
    data, info = await service.list_workspace_snapshots(
        db,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)
