"""/api/v1/action-items: HTTP only, the work is in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.action_items import runs, service
from orbiter.action_items.schemas import ActionItemRead, ActionItemRunRead, RunApplied
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/action-items", tags=["action-items"])


@router.get("", response_model=Page[ActionItemRead], summary="List action items")
async def list_items(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: Annotated[uuid.UUID | None, Query(description="Only this project's items")] = None,
    include_dismissed: Annotated[
        bool, Query(description="Also the dismissed ones (`dismissed: true`)")
    ] = False,
) -> Page[ActionItemRead]:
    """Drift items (each workspace's latest drift), the analyzer's findings (security, test
    coverage, refactoring) and failed deployments of the caller's workspaces, critical first.
    Listing asks for an analysis of every workspace whose current files were not analysed yet;
    its findings appear once the background job has run."""
    data, info = await service.list_items(
        db,
        resources.cursors,
        user_id=principal.user_id,
        project_id=project_id,
        include_dismissed=include_dismissed,
        params=page,
    )
    return Page(data=data, pagination=info)


@router.post("/{item_id}/dismiss", response_model=ActionItemRead, summary="Dismiss an item")
async def dismiss(item_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> ActionItemRead:
    """For everyone in the item's project (editor or owner); kept for computed items too, as
    long as what they are about stays the same."""
    return await service.dismiss(db, user_id=principal.user_id, item_id=item_id)


@router.post(
    "/{item_id}/runs",
    response_model=ActionItemRunRead,
    status_code=202,
    summary="Start a run that patches the item",
)
async def start_run(
    item_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ActionItemRunRead:
    """A background run: the coding agent works on the item in a sandbox holding the
    workspace's current files; then a unified diff, checks and a report (`GET
    /action-items/runs/{run_id}`). Editor or owner; 503 without an LLM provider."""
    return await runs.start_run(db, resources, user_id=principal.user_id, item_id=item_id)


@router.get(
    "/{item_id}/runs", response_model=Page[ActionItemRunRead], summary="List an item's runs"
)
async def list_runs(
    item_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[ActionItemRunRead]:
    data, info = await runs.list_runs(
        db, resources.cursors, user_id=principal.user_id, item_id=item_id, params=page
    )
    return Page(data=data, pagination=info)


@router.get("/runs/{run_id}", response_model=ActionItemRunRead, summary="Get a run")
async def get_run(
    run_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> ActionItemRunRead:
    """Its status, the agent's summary, the report, the patch, the checks and any error."""
    return await runs.get_run(db, user_id=principal.user_id, run_id=run_id)


@router.post("/runs/{run_id}/apply", response_model=RunApplied, summary="Apply a run's patch")
async def apply_run(
    run_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> RunApplied:
    """Writes a `ready` run's changes to the workspace as one new version (compare-and-set),
    merging (`merge3`) with changes made there since the run began; 409 when the patch no
    longer applies (nothing is written) or was applied already."""
    return await runs.apply_run(
        db, resources.blobs, resources.settings, user_id=principal.user_id, run_id=run_id
    )
