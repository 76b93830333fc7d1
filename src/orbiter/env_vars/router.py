"""/api/v1/projects/{project_id}/env-vars: a project's environment variables."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Response

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.env_vars import service
from orbiter.env_vars.schemas import (
    EnvVarBulkResult,
    EnvVarBulkSet,
    EnvVarRead,
    EnvVarSet,
    EnvVarValues,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/projects/{project_id}/env-vars", tags=["env-vars"])


@router.get("", response_model=Page[EnvVarRead], summary="List environment variables")
async def list_env_vars(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[EnvVarRead]:
    """Variables by key (any member). Secret values are `null`; others are shown."""
    data, info = await service.list_env_vars(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        box=resources.secrets,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.post(
    "",
    status_code=201,
    response_model=EnvVarRead,
    responses={200: {"model": EnvVarRead, "description": "An existing variable was updated"}},
    summary="Set an environment variable",
)
async def set_env_var(
    project_id: uuid.UUID,
    body: EnvVarSet,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    response: Response,
) -> EnvVarRead:
    """Create (201) or replace (200) one variable (editor or owner). The value is encrypted."""
    variable, created = await service.set_env_var(
        db, user_id=principal.user_id, project_id=project_id, box=resources.secrets, item=body
    )
    response.status_code = 201 if created else 200
    return variable


@router.put("", response_model=EnvVarBulkResult, summary="Set many environment variables")
async def set_many_env_vars(
    project_id: uuid.UUID,
    body: EnvVarBulkSet,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> EnvVarBulkResult:
    """Create or replace many variables at once, all or nothing. Unnamed variables stay."""
    count = await service.set_env_vars(
        db,
        user_id=principal.user_id,
        project_id=project_id,
        box=resources.secrets,
        items=body.variables,
    )
    return EnvVarBulkResult(success=True, count=count)


@router.get("/values", response_model=EnvVarValues, summary="Reveal every value")
async def reveal_values(
    project_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> EnvVarValues:
    """Every value in clear, for deployments: an API key with the `secrets:read` scope (and
    `read`) of an editor or owner only. Each call is recorded in the project's events."""
    variables = await service.reveal_values(
        db,
        principal=principal,
        project_id=project_id,
        box=resources.secrets,
    )
    return EnvVarValues(variables=variables)


@router.delete("/{key}", status_code=204, summary="Delete an environment variable")
async def delete_env_var(
    project_id: uuid.UUID, key: str, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Remove one variable (editor or owner); 404 when the project has no such key."""
    await service.delete_env_var(db, user_id=principal.user_id, project_id=project_id, key=key)
    return Response(status_code=204)
