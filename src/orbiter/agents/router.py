"""/api/v1/agents: agents of a project, and running one."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from fastapi import APIRouter, BackgroundTasks, Request, Response
from fastapi.responses import StreamingResponse

from orbiter.agents import service
from orbiter.agents.schemas import AgentCreate, AgentRead, AgentRunRequest, AgentUpdate
from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.conversations import agent_turns
from orbiter.conversations.agent_turns import AgentTurn
from orbiter.core.pagination import Page
from orbiter.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE
from orbiter.runs import events as run_events
from orbiter.runs.http import RUN_EVENTS_RESPONSE, IdempotencyKey
from orbiter.runs.schemas import RunRead
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep
from orbiter.runtime.resources import Resources

router = APIRouter(prefix="/agents", tags=["agents"])


@router.get("", response_model=Page[AgentRead], summary="List agents")
async def list_agents(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
) -> Page[AgentRead]:
    """Agents of the caller's projects (or of `project_id`), newest first."""
    data, info = await service.list_agents(
        db, user_id=principal.user_id, params=page, codec=resources.cursors, project_id=project_id
    )
    return Page(data=data, pagination=info)


@router.post("", status_code=201, response_model=AgentRead, summary="Create an agent")
async def create_agent(body: AgentCreate, principal: CurrentPrincipal, db: DbSession) -> AgentRead:
    """An agent in `project_id` (default: the personal project; editor or owner). A provider
    must be one of the caller's, tools built-ins or custom tools of the project (422
    `reference_not_found` otherwise)."""
    return await service.create_agent(db, user_id=principal.user_id, body=body)


@router.get("/{agent_id}", response_model=AgentRead, summary="Get an agent")
async def get_agent(agent_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> AgentRead:
    return await service.get_agent(db, user_id=principal.user_id, agent_id=agent_id)


@router.put("/{agent_id}", response_model=AgentRead, summary="Update an agent")
async def update_agent(
    agent_id: uuid.UUID, body: AgentUpdate, principal: CurrentPrincipal, db: DbSession
) -> AgentRead:
    """Change it (editor or owner); fields not sent keep their value, and the version grows."""
    return await service.update_agent(db, user_id=principal.user_id, agent_id=agent_id, body=body)


@router.delete("/{agent_id}", status_code=204, summary="Delete an agent")
async def delete_agent(agent_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession) -> Response:
    """Delete it (editor or owner). Its conversations become plain ones; its runs stay."""
    await service.delete_agent(db, user_id=principal.user_id, agent_id=agent_id)
    return Response(status_code=204)


@router.post(
    "/{agent_id}/duplicate", status_code=201, response_model=AgentRead, summary="Copy an agent"
)
async def duplicate_agent(
    agent_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> AgentRead:
    """A copy named "<name> (copy)" in the same project (editor or owner)."""
    return await service.duplicate_agent(db, user_id=principal.user_id, agent_id=agent_id)


@router.post(
    "/{agent_id}/run",
    status_code=202,
    response_model=RunRead,
    responses=RUN_EVENTS_RESPONSE,
    summary="Run an agent",
)
async def run_agent(
    agent_id: uuid.UUID,
    body: AgentRunRequest,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    request: Request,
    background: BackgroundTasks,
    idempotency_key: IdempotencyKey = None,
) -> RunRead | StreamingResponse:
    """Start a run of the agent (editor or owner): the model with the agent's instructions
    and tools, calling tools until it answers or reaches `max_steps`. It runs in the
    background; follow it at `GET /runs/{id}` or `/runs/{id}/events`, or ask for the events
    here with `Accept: text/event-stream`. In `conversation_id`, the input is posted there
    as the user's message and the run writes the reply. `Idempotency-Key`: the same key
    within 24 hours returns the first run."""
    turn = await service.start_run(
        db,
        resources,
        user_id=principal.user_id,
        agent_id=agent_id,
        body=body,
        idempotency_key=idempotency_key,
    )
    if SSE_MEDIA_TYPE in request.headers.get("accept", ""):
        return StreamingResponse(
            _announced_events(resources, turn, body.conversation_id),
            media_type=SSE_MEDIA_TYPE,
            headers=SSE_HEADERS,
        )
    if body.conversation_id is not None:  # after the commit, like the run's job
        background.add_task(agent_turns.announce, resources, body.conversation_id, turn)
    return RunRead.model_validate(turn.run)


async def _announced_events(
    resources: Resources, turn: AgentTurn, conversation_id: uuid.UUID | None
) -> AsyncIterator[bytes]:
    """The stream starts after the commit: announce the new messages, then follow the run."""
    if conversation_id is not None:
        await agent_turns.announce(resources, conversation_id, turn)
    async for frame in run_events.sse_frames(run_events.follow(resources, turn.run.id)):
        yield frame
