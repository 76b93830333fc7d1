"""/api/v1/infrastructure deploy routes (settings, deployments, the pipeline's status
callback, a project's deploy) and /api/v1/workspaces/{id}/deploy."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Security
from fastapi.security import APIKeyHeader

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.core.errors import Unauthorized
from orbiter.core.pagination import Page
from orbiter.infrastructure.deploy import records, reporting, settings_service, waiting
from orbiter.infrastructure.deploy.schemas import (
    AppDeploymentRead,
    DeploymentSettingsEnvelope,
    DeploymentSettingsUpdate,
    DeployStarted,
    ProjectDeploy,
    ProjectDeployResult,
    StatusAccepted,
    StatusReport,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/infrastructure", tags=["infrastructure"])
workspace_router = APIRouter(prefix="/workspaces", tags=["workspaces"])

token_scheme = APIKeyHeader(
    name="X-Deployment-Token",
    auto_error=False,
    scheme_name="DeploymentToken",
    description="The deployment's own callback token (`callback_token` when it was started)",
)


async def deployment_token(
    token: Annotated[str | None, Security(token_scheme)] = None,
) -> str:
    """401 before anything else is looked at when no token was sent."""
    if not token:
        raise Unauthorized(reporting.BAD_TOKEN)
    return token


@router.get(
    "/workspaces/{workspace_id}/deployment-settings",
    response_model=DeploymentSettingsEnvelope,
    summary="Get a workspace's deployment settings",
)
async def get_deployment_settings(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> DeploymentSettingsEnvelope:
    """The saved settings, or the defaults (`updated_at` null) when none were saved."""
    settings = await settings_service.get_settings(
        db, user_id=principal.user_id, workspace_id=workspace_id
    )
    return DeploymentSettingsEnvelope(settings=settings)


@router.put(
    "/workspaces/{workspace_id}/deployment-settings",
    response_model=DeploymentSettingsEnvelope,
    summary="Save a workspace's deployment settings",
)
async def put_deployment_settings(
    workspace_id: uuid.UUID,
    body: DeploymentSettingsUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
) -> DeploymentSettingsEnvelope:
    """Editor or owner. Fields left out keep their value; null clears an override. Commands
    are one line each (run with `bash -c` in the deployment's sandbox)."""
    settings = await settings_service.update_settings(
        db, user_id=principal.user_id, workspace_id=workspace_id, body=body
    )
    return DeploymentSettingsEnvelope(settings=settings)


@router.get(
    "/workspaces/{workspace_id}/deployments",
    response_model=Page[AppDeploymentRead],
    summary="List a workspace's deployments",
)
async def list_workspace_deployments(
    workspace_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[AppDeploymentRead]:
    """Newest first, whatever started them."""
    rows, info = await records.list_workspace_deployments(
        db,
        user_id=principal.user_id,
        workspace_id=workspace_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=[AppDeploymentRead.model_validate(r) for r in rows], pagination=info)


@router.post(
    "/deployments/{deployment_id}/status",
    response_model=StatusAccepted,
    summary="Report a deployment's status (the pipeline's callback)",
)
async def report_deployment_status(
    deployment_id: uuid.UUID,
    body: StatusReport,
    token: Annotated[str, Depends(deployment_token)],
    db: DbSession,
) -> StatusAccepted:
    """For the deploy pipeline, not for users: authenticated by the deployment's own token
    (`X-Deployment-Token`), never by a session. 401 for a missing or wrong token (or an
    unknown deployment). Statuses only move forward (`queued`, `building`, `deploying`,
    `live`); `failed` and `stopped` end it; anything else is 409. Reporting the current
    status again changes nothing (`changed: false`)."""
    status, changed = await reporting.report_callback(
        db, deployment_id=deployment_id, token=token, report=body
    )
    return StatusAccepted(deployment_id=deployment_id, status=status, changed=changed)


@router.post(
    "/projects/{project_id}/deploy",
    response_model=ProjectDeployResult,
    summary="Deploy a project",
)
async def deploy_project(
    project_id: uuid.UUID,
    principal: CurrentPrincipal,
    resources: ResourcesDep,
    body: ProjectDeploy | None = None,
) -> ProjectDeployResult:
    """Editor or owner. Deploys the current files of `workspace_id` (default: the project's
    main workspace): detect, provision missing resources, build and start. Waits up to
    `ORBITER_DEPLOY_WAIT_SECONDS` for it to be `live` or `failed`, then answers with where it
    is (`success` is false only when it failed)."""
    return await waiting.deploy_and_wait(
        resources,
        user_id=principal.user_id,
        project_id=project_id,
        workspace_id=body.workspace_id if body else None,
    )


@workspace_router.post(
    "/{workspace_id}/deploy",
    status_code=202,
    response_model=DeployStarted,
    summary="Deploy a workspace",
)
async def deploy_workspace(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> DeployStarted:
    """Editor or owner. Queues a deployment of the workspace's current files; follow it in
    `GET /infrastructure/workspaces/{id}/deployments`. 422 when it has no files yet."""
    deployment, token = await records.deploy_workspace(
        db, user_id=principal.user_id, workspace_id=workspace_id, trigger="workspace"
    )
    return DeployStarted(
        deployment_id=deployment.id,
        status="queued",
        callback_token=token,
    )
