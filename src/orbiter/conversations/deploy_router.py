"""/api/v1/conversations/{id}/deploy, /deployments and /deployments/{id}/logs."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.conversations import deploys
from orbiter.core.pagination import Page
from orbiter.infrastructure.deploy.schemas import (
    AppDeploymentCreated,
    AppDeploymentRead,
    DeployLogLine,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.post(
    "/{conversation_id}/deploy",
    status_code=201,
    response_model=AppDeploymentCreated,
    summary="Deploy a conversation's workspace",
)
async def deploy_conversation(
    conversation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> AppDeploymentCreated:
    """Editor or owner. Queues a deployment (trigger `conversation`) of the current files of
    the conversation's workspace; 422 when it has none. Follow it in
    `GET /conversations/{id}/deployments`."""
    deployment, token = await deploys.deploy(
        db, user_id=principal.user_id, conversation_id=conversation_id
    )
    read = AppDeploymentRead.model_validate(deployment)
    return AppDeploymentCreated(**read.model_dump(), callback_token=token)


@router.get(
    "/{conversation_id}/deployments",
    response_model=Page[AppDeploymentRead],
    summary="List a conversation's deployments",
)
async def list_conversation_deployments(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[AppDeploymentRead]:
    """The deployments started from this conversation, newest first."""
    rows, info = await deploys.deployments(
        db,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=[AppDeploymentRead.model_validate(r) for r in rows], pagination=info)


@router.get(
    "/{conversation_id}/deployments/{deployment_id}/logs",
    response_model=Page[DeployLogLine],
    summary="Read a deployment's log",
)
async def read_deployment_logs(
    conversation_id: uuid.UUID,
    deployment_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[DeployLogLine]:
    """Oldest line first: the pipeline's steps (`system`), the build's output (`build`) and
    the app's own (`app`, written when it stops or fails). 404 for a deployment this
    conversation did not start."""
    rows, info = await deploys.deployment_logs(
        db,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        deployment_id=deployment_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=[DeployLogLine.model_validate(r) for r in rows], pagination=info)
