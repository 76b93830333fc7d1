"""/api/v1/runs (any credential) and /api/v1/ci/runs (API keys only)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Query
from fastapi.responses import StreamingResponse

from orbiter.auth.dependencies import ApiKeyPrincipal, CurrentPrincipal
from orbiter.core.pagination import Page
from orbiter.runs import approvals, service
from orbiter.runs.http import RUN_EVENTS_RESPONSE, LastEventId, run_events_response
from orbiter.runs.schemas import (
    ApproveRequest,
    RejectRequest,
    RunDetail,
    RunFilters,
    RunRead,
    RunStatus,
)
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/runs", tags=["runs"])
ci_router = APIRouter(prefix="/ci", tags=["ci"])


@router.get("", response_model=Page[RunRead], summary="List runs")
async def list_runs(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
    agent_id: Annotated[uuid.UUID | None, Query(description="Runs of this agent")] = None,
    workflow_id: Annotated[uuid.UUID | None, Query(description="Runs of this workflow")] = None,
    status: RunStatus | None = None,
    since: Annotated[datetime | None, Query(description="Created at or after")] = None,
    until: Annotated[datetime | None, Query(description="Created before")] = None,
) -> Page[RunRead]:
    """Runs of the caller's projects, newest first, filtered."""
    filters = RunFilters(project_id, agent_id, workflow_id, status, since, until)
    data, info = await service.list_runs(
        db, user_id=principal.user_id, filters=filters, params=page, codec=resources.cursors
    )
    return Page(data=data, pagination=info)


@router.get("/{run_id}", response_model=RunDetail, summary="Get a run with its trace")
async def get_run(run_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> RunDetail:
    """The run and its trace: spans (steps, LLM calls, tool calls...) as a tree, each with its
    input, output, error, tokens, cost, start and duration."""
    return await service.get_run(db, user_id=principal.user_id, run_id=run_id)


@router.post("/{run_id}/cancel", response_model=RunRead, summary="Cancel a run")
async def cancel_run(
    run_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> RunRead:
    """Editors and owners. A queued or waiting run is `cancelled` at once; a running one gets
    `cancel_requested: true` and its worker (on any replica) stops it within about a second:
    open spans are closed and it ends `cancelled`. 409 when it already ended otherwise."""
    cancelled = await service.cancel_run(db, user_id=principal.user_id, run_id=run_id)
    background.add_task(service.after_cancel, resources.pubsub, cancelled)  # after the commit
    return cancelled.run


@router.post("/{run_id}/approve", response_model=RunRead, summary="Approve a waiting run")
async def approve_run(
    run_id: uuid.UUID,
    body: ApproveRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> RunRead:
    """Editors and owners. A run waiting at an approval gate (`awaiting_approval`) goes back
    to a worker (`queued`) with the decision, an optional `comment` and an optional edited
    `payload` it continues with. 409 when the run is not waiting for an approval."""
    return await approvals.approve_run(
        db, resources, user_id=principal.user_id, run_id=run_id, decision=body
    )


@router.post("/{run_id}/reject", response_model=RunRead, summary="Reject a waiting run")
async def reject_run(
    run_id: uuid.UUID,
    body: RejectRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> RunRead:
    """Editors and owners. A run waiting at an approval gate ends there: `cancelled`, with
    `error: {code: APPROVAL_REJECTED, message: <reason>}`. 409 when the run is not waiting for
    an approval."""
    rejected = await approvals.reject_run(
        db, user_id=principal.user_id, run_id=run_id, decision=body
    )
    background.add_task(service.after_cancel, resources.pubsub, rejected)  # after the commit
    return rejected.run


@router.get(
    "/{run_id}/events",
    response_class=StreamingResponse,
    responses=RUN_EVENTS_RESPONSE,
    summary="Follow a run's events",
)
async def run_events(
    run_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    last_event_id: LastEventId = None,
) -> StreamingResponse:
    """An addition to the API contract: the run's events as SSE, replayed after
    `Last-Event-ID` from the run's event log, then live until the run ends or waits for an
    answer, on any replica. 400 for a `Last-Event-ID` of another run."""
    await service.load_run(db, user_id=principal.user_id, run_id=run_id)
    return run_events_response(resources, run_id, last_event_id)


@ci_router.get("/runs/{run_id}", response_model=RunRead, summary="Get a run from CI")
async def ci_get_run(run_id: uuid.UUID, principal: ApiKeyPrincipal, db: DbSession) -> RunRead:
    """The run's status and output, for CI jobs (API keys only)."""
    run = await service.load_run(db, user_id=principal.user_id, run_id=run_id)
    return RunRead.model_validate(run)
