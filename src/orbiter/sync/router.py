"""/api/v1/workspaces/{id}/sync/* and /drift/analyze: HTTP only, the work is in the service."""

from __future__ import annotations

import uuid

from fastapi import APIRouter

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.runtime.deps import DbSession, ResourcesDep
from orbiter.sync import service
from orbiter.sync.schemas import (
    AnalysisEnvelope,
    PreviewEnvelope,
    SyncExecute,
    SyncExecuted,
    SyncUndone,
)

router = APIRouter(prefix="/workspaces/{workspace_id}", tags=["workspaces"])


@router.post("/sync/prepare", response_model=PreviewEnvelope, summary="Prepare a sync from main")
async def prepare_sync(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> PreviewEnvelope:
    """Three-way merge of main into this workspace over the merge base; the preview is kept
    30 minutes. Editor or owner. A text conflict merge3 cannot merge gets a `combined` option
    (the LLM's proposal, its diff in `preview`) when the caller has an LLM provider; it is
    applied only when chosen in `sync/execute`."""
    preview = await service.prepare(
        db, resources, user_id=principal.user_id, workspace_id=workspace_id
    )
    return PreviewEnvelope(preview=preview)


@router.post("/sync/execute", response_model=SyncExecuted, summary="Execute a prepared sync")
async def execute_sync(
    workspace_id: uuid.UUID,
    body: SyncExecute,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> SyncExecuted:
    """All or nothing: 422 when a decision is unanswered, 409 when the workspace moved since
    the preview."""
    return await service.execute(
        db, resources.blobs, user_id=principal.user_id, workspace_id=workspace_id, body=body
    )


@router.post("/sync/undo", response_model=SyncUndone, summary="Undo the latest sync")
async def undo_sync(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> SyncUndone:
    """Back to the pre-sync snapshot, recorded as a new snapshot; 409 when there is nothing
    left to undo (a second undo)."""
    return await service.undo(
        db, resources.blobs, user_id=principal.user_id, workspace_id=workspace_id
    )


@router.post(
    "/drift/analyze", response_model=AnalysisEnvelope, summary="Analyse drift against main"
)
async def analyze_drift(
    workspace_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> AnalysisEnvelope:
    """Deterministic risk, whether a sync needs no decision, and a recommendation; when the
    caller has an LLM provider and there is drift, the LLM's explanation and recommendation
    too (`llm_enriched`, `enriched_by`; a failing LLM call leaves a note instead)."""
    analysis = await service.analyze(
        db, resources, user_id=principal.user_id, workspace_id=workspace_id
    )
    return AnalysisEnvelope(analysis=analysis)
