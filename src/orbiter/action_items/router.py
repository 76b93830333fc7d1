"""/api/v1/action-items: HTTP only, the work is in the service."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query

from orbiter.action_items import service
from orbiter.action_items.schemas import ActionItemRead
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
