"""A conversation's deployments: deploying its workspace, and the deployments and logs of
those it started (`orbiter.infrastructure.deploy` does the work)."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.conversations.service import load_conversation
from orbiter.core.errors import ValidationFailed
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams
from orbiter.infrastructure.deploy import records
from orbiter.models import AppDeployment, AppDeploymentLog, Role


async def deploy(
    db: AsyncSession, *, user_id: uuid.UUID, conversation_id: uuid.UUID
) -> tuple[AppDeployment, str]:
    """Editor or owner; 422 when the conversation has no workspace."""
    conversation, _, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    if conversation.workspace_id is None:
        raise ValidationFailed.for_field(
            "conversation_id",
            "The conversation has no workspace to deploy (set one with PATCH)",
            "no_workspace",
        )
    return await records.deploy_workspace(
        db,
        user_id=user_id,
        workspace_id=conversation.workspace_id,
        trigger="conversation",
        conversation_id=conversation.id,
    )


async def deployments(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AppDeployment], PageInfo]:
    await load_conversation(db, user_id=user_id, conversation_id=conversation_id)
    return await records.list_conversation_deployments(
        db, conversation_id=conversation_id, params=params, codec=codec
    )


async def deployment_logs(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    deployment_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[AppDeploymentLog], PageInfo]:
    await load_conversation(db, user_id=user_id, conversation_id=conversation_id)
    return await records.conversation_deployment_logs(
        db,
        conversation_id=conversation_id,
        deployment_id=deployment_id,
        params=params,
        codec=codec,
    )
