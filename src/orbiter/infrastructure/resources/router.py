"""/api/v1/infrastructure/projects/{project_id}/resources: provisioned resources, masked."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.infrastructure.resources import service
from orbiter.infrastructure.resources.schemas import ResourceRead
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(
    prefix="/infrastructure/projects/{project_id}/resources", tags=["infrastructure"]
)


@router.get("", response_model=Page[ResourceRead], summary="List a project's resources")
async def list_resources(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[ResourceRead]:
    """Databases and caches provisioned for the project, newest first; connection info
    masked. Any member."""
    data, info = await service.list_resources(
        db,
        resources,
        user_id=principal.user_id,
        project_id=project_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.get("/{resource_id}", response_model=ResourceRead, summary="Get a resource")
async def get_resource(
    project_id: uuid.UUID,
    resource_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> ResourceRead:
    return await service.get_resource(
        db, resources, user_id=principal.user_id, project_id=project_id, resource_id=resource_id
    )


@router.delete("/{resource_id}", status_code=204, summary="Destroy a resource")
async def delete_resource(
    project_id: uuid.UUID,
    resource_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> Response:
    """Destroy it at its provider first (editors and owners); when the provider fails, the
    resource stays and the error says why (502)."""
    await service.delete_resource(
        db, resources, user_id=principal.user_id, project_id=project_id, resource_id=resource_id
    )
    return Response(status_code=204)
