"""/api/v1/conversations/{id}/snapshot: HTTP only, the work is in conversations.snapshot."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.conversations import snapshot
from orbiter.conversations.snapshot_schemas import ConversationSnapshot, SnapshotRequest
from orbiter.runtime.deps import DbSession, ResourcesDep

router = APIRouter(prefix="/conversations", tags=["conversations"])


@router.post(
    "/{conversation_id}/snapshot",
    response_model=ConversationSnapshot,
    summary="Snapshot the conversation's workspace",
)
async def snapshot_workspace(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    body: SnapshotRequest | None = None,
) -> ConversationSnapshot:
    """A snapshot of the workspace's current files (editor or owner); when they are those of
    its last snapshot (`was_dirty: false`) that snapshot is returned and nothing is recorded.
    `generate_summary`: the caller's LLM summarizes the changes since the last snapshot (503
    without a provider; a failing call leaves `summary` null and a note). 409 when the
    conversation has no workspace or the workspace has no files yet."""
    return await snapshot.snapshot_workspace(
        db,
        resources,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        body=body or SnapshotRequest(),
    )
