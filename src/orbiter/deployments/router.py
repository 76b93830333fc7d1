"""/api/v1/deployments (any credential; invoke also takes the deployment's own key) and
/api/v1/ci/deployments (API keys only)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from orbiter.auth.dependencies import ApiKeyPrincipal, CurrentPrincipal, checked_principal
from orbiter.auth.principal import DEPLOYMENT_KEY_PREFIX
from orbiter.core.pagination import Page
from orbiter.deployments import invoking, service
from orbiter.deployments.schemas import (
    DeploymentCreate,
    DeploymentCreated,
    DeploymentRead,
    DeploymentUpdate,
    InvokeRequest,
    TargetType,
)
from orbiter.runs.http import WAITED_RESPONSE, Wait, waited
from orbiter.runs.schemas import RunRead
from orbiter.runs.waiting import start_committed
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/deployments", tags=["deployments"])
ci_router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("", response_model=Page[DeploymentRead], summary="List deployments")
async def list_deployments(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
    target_type: TargetType | None = None,
    target_id: Annotated[uuid.UUID | None, Query(description="Deployments of this target")] = None,
) -> Page[DeploymentRead]:
    """Deployments of the caller's projects (or of `project_id`, or of one target), newest
    first. Keys are never listed, only their prefix."""
    data, info = await service.list_deployments(
        db,
        user_id=principal.user_id,
        params=page,
        codec=resources.cursors,
        project_id=project_id,
        target_type=target_type,
        target_id=target_id,
    )
    return Page(data=data, pagination=info)


@router.post(
    "", status_code=201, response_model=DeploymentCreated, summary="Deploy an agent or workflow"
)
async def create_deployment(
    body: DeploymentCreate, principal: CurrentPrincipal, db: DbSession
) -> DeploymentCreated:
    """Publish an agent or a workflow of `project_id` (default: the personal project; editor
    or owner) at its current version: a workflow's content hash, an agent's version and
    settings. Later edits of the target change nothing until a redeploy. The response holds
    the deployment key (`key`), shown this once. A target that is not an agent or workflow of
    the project: 422 `reference_not_found`; `target_type: workspace`: 422 (it comes with the
    sync and deploy issue)."""
    return await service.create_deployment(db, user_id=principal.user_id, body=body)


@router.get("/{deployment_id}", response_model=DeploymentRead, summary="Get a deployment")
async def get_deployment(
    deployment_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> DeploymentRead:
    return await service.get_deployment(db, user_id=principal.user_id, deployment_id=deployment_id)


@router.put("/{deployment_id}", response_model=DeploymentRead, summary="Update a deployment")
async def update_deployment(
    deployment_id: uuid.UUID, body: DeploymentUpdate, principal: CurrentPrincipal, db: DbSession
) -> DeploymentRead:
    """Rename it, or change its environment or config (editor or owner); fields not sent keep
    their value. The target and its pinned version change only by a redeploy."""
    return await service.update_deployment(
        db, user_id=principal.user_id, deployment_id=deployment_id, body=body
    )


@router.delete("/{deployment_id}", status_code=204, summary="Delete a deployment")
async def delete_deployment(
    deployment_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """Delete it and its key (editor or owner); its runs stay."""
    await service.delete_deployment(db, user_id=principal.user_id, deployment_id=deployment_id)
    return Response(status_code=204)


@router.post(
    "/{deployment_id}/key",
    response_model=DeploymentCreated,
    summary="Make a new deployment key",
)
async def rotate_key(
    deployment_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> DeploymentCreated:
    """An addition to the API contract: a new key for the deployment (editor or owner),
    shown in this response only; the key before stops working at once."""
    return await service.rotate_key(db, user_id=principal.user_id, deployment_id=deployment_id)


@router.delete("/{deployment_id}/key", status_code=204, summary="Revoke the deployment key")
async def revoke_key(
    deployment_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> Response:
    """An addition to the API contract: the deployment's key stops working (editor or owner);
    members still invoke it with their own credentials. `POST /deployments/{id}/key` makes a new one."""
    await service.revoke_key(db, user_id=principal.user_id, deployment_id=deployment_id)
    return Response(status_code=204)


@dataclass(frozen=True)
class InvokeCaller:
    user_id: uuid.UUID | None = None
    key: str | None = None


async def invoke_caller(request: Request) -> InvokeCaller:
    """The deployment's key (`X-API-Key: odk_...`), or the caller's usual credentials, checked
    in full (CSRF for cookies, scopes for API keys)."""
    sent = request.headers.get("x-api-key")
    if sent is not None and sent.startswith(DEPLOYMENT_KEY_PREFIX):
        return InvokeCaller(key=sent)
    return InvokeCaller(user_id=checked_principal(request).user_id)


@router.post(
    "/{deployment_id}/invoke",
    status_code=202,
    response_model=RunRead,
    responses=WAITED_RESPONSE,
    summary="Invoke a deployment",
)
async def invoke_deployment(
    deployment_id: uuid.UUID,
    body: InvokeRequest,
    caller: Annotated[InvokeCaller, Depends(invoke_caller)],
    resources: ResourcesDep,
    response: Response,
    wait: Wait = False,
) -> RunRead:
    """Run the deployed agent or workflow at its pinned version with `inputs` (an agent
    answers `inputs.input`). Authenticated by the deployment's key sent as `X-API-Key` (the
    run is then the deployment creator's, who must still be an editor: 403 otherwise), or by
    the caller's own credentials (editor or owner). A key of another deployment, or revoked:
    401. Answers 202 with the queued run; with `wait=true`, waits until the run ends (at most
    `ORBITER_RUN_WAIT_SECONDS`, default 30) and answers 200 with the finished run, or 202
    with the run still going (or waiting for an approval)."""
    run = await start_committed(
        resources,
        lambda db: invoking.invoke(
            db,
            resources,
            deployment_id=deployment_id,
            inputs=body.inputs,
            user_id=caller.user_id,
            key=caller.key,
        ),
    )
    return invoking.invoked(await waited(resources, run, wait, response))


@router.get(
    "/{deployment_id}/runs/{run_id}",
    response_model=RunRead,
    summary="Read a run of a deployment",
)
async def read_invoked_run(
    deployment_id: uuid.UUID,
    run_id: uuid.UUID,
    caller: Annotated[InvokeCaller, Depends(invoke_caller)],
    db: DbSession,
) -> RunRead:
    """A run this deployment started (an addition to the contract): its status and output,
    for the holder of the deployment's key (`X-API-Key`), who has no other way to follow a
    run invoke answered 202 for, or for a member of the project. Another run is 404."""
    return await invoking.invoked_run(
        db, deployment_id=deployment_id, run_id=run_id, user_id=caller.user_id, key=caller.key
    )


@ci_router.post(
    "/deployments/{deployment_id}/redeploy",
    response_model=DeploymentRead,
    summary="Redeploy from CI",
)
async def redeploy(
    deployment_id: uuid.UUID, principal: ApiKeyPrincipal, db: DbSession
) -> DeploymentRead:
    """Pin the target's version current now: the workflow's current canvas, or the agent's
    current version and settings (API keys only; editor or owner). 422 when the target was
    deleted."""
    return await service.redeploy(db, user_id=principal.user_id, deployment_id=deployment_id)
