"""Agents: CRUD, duplicate, and starting a run. An agent belongs to a project: members see it,
editors change and run it.

References are checked the one way (`tenancy.access`): a provider must be the caller's own
(providers belong to users), tools are built-in names or custom tools of the agent's project,
and a missing reference and someone else's get the same 422 `reference_not_found`.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.agents.schemas import AgentCreate, AgentRead, AgentRunRequest, AgentUpdate
from orbiter.conversations import agent_turns
from orbiter.conversations.agent_turns import AgentTurn
from orbiter.conversations.service import load_conversation
from orbiter.core.db import delete_one
from orbiter.core.errors import NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import Agent, KnowledgeBase, Role, Tool
from orbiter.providers.service import load_provider
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import (
    check_references,
    load_project,
    load_project_row,
    member_project_ids,
    missing_reference,
)
from orbiter.tenancy.events import record_event
from orbiter.tenancy.projects import project_or_personal
from orbiter.tools.registry import builtin

COPY_SUFFIX = " (copy)"
# Fields a new agent takes as they are, from the request or from the agent it copies.
SETTINGS = ("description", "instructions", "model", "temperature", "max_steps")


def agent_read(row: Agent) -> AgentRead:
    return AgentRead(
        id=row.id,
        project_id=row.project_id,
        created_by=row.created_by,
        name=row.name,
        description=row.description,
        instructions=row.instructions,
        provider_id=row.provider_id,
        model=row.model,
        tool_ids=list(row.tool_ids),
        knowledge_base_ids=[uuid.UUID(k) for k in row.knowledge_base_ids],
        temperature=row.temperature,
        max_steps=row.max_steps,
        version=row.version,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def load_agent(
    db: AsyncSession, *, user_id: uuid.UUID, agent_id: uuid.UUID, min_role: Role = Role.VIEWER
) -> Agent:
    return await load_project_row(
        db, Agent, agent_id, user_id=user_id, min_role=min_role, label="Agent"
    )


# ---------------------------------------------------------------- references


async def _check_provider(db: AsyncSession, user_id: uuid.UUID, provider_id: uuid.UUID) -> None:
    try:
        await load_provider(db, user_id=user_id, provider_id=provider_id)
    except NotFound as exc:
        raise missing_reference("provider_id", "Provider") from exc


async def _checked_tools(db: AsyncSession, project_id: uuid.UUID, tool_ids: list[str]) -> list[str]:
    """The list without repeats; each a built-in name or a custom tool of the project."""
    unique = list(dict.fromkeys(tool_ids))
    custom: list[uuid.UUID] = []
    for ref in unique:
        if builtin(ref) is not None:
            continue
        try:
            custom.append(uuid.UUID(ref))
        except ValueError as exc:
            raise missing_reference("tool_ids", "Tool") from exc
    if custom:
        await check_references(
            db, Tool, custom, project_id=project_id, field="tool_ids", label="Tool"
        )
    return [str(uuid.UUID(ref)) if builtin(ref) is None else ref for ref in unique]


async def _checked_knowledge_bases(
    db: AsyncSession, project_id: uuid.UUID, ids: list[uuid.UUID]
) -> list[str]:
    """The list without repeats, each a knowledge base of the project."""
    unique = list(dict.fromkeys(ids))
    if unique:
        await check_references(
            db,
            KnowledgeBase,
            unique,
            project_id=project_id,
            field="knowledge_base_ids",
            label="Knowledge base",
        )
    return [str(kb) for kb in unique]


# ---------------------------------------------------------------- CRUD


async def list_agents(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
    project_id: uuid.UUID | None = None,
) -> tuple[list[AgentRead], PageInfo]:
    """Agents of the caller's projects (or of one), newest first."""
    stmt = select(Agent).where(Agent.project_id.in_(member_project_ids(user_id)))
    if project_id is not None:
        await load_project(db, user_id=user_id, project_id=project_id)
        stmt = stmt.where(Agent.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[Agent.created_at, Agent.id], params=params, codec=codec
    )
    return [agent_read(row[0]) for row in rows], info


async def create_agent(db: AsyncSession, *, user_id: uuid.UUID, body: AgentCreate) -> AgentRead:
    project_id = await project_or_personal(db, user_id=user_id, project_id=body.project_id)
    await load_project(db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR)
    if body.provider_id is not None:
        await _check_provider(db, user_id, body.provider_id)
    tool_ids = await _checked_tools(db, project_id, body.tool_ids)
    bases = await _checked_knowledge_bases(db, project_id, body.knowledge_base_ids)
    settings = body.model_dump(include=set(SETTINGS) | {"name", "provider_id"})
    return await _insert(
        db, user_id, project_id=project_id, tool_ids=tool_ids, knowledge_base_ids=bases, **settings
    )


async def _insert(db: AsyncSession, user_id: uuid.UUID, **fields: Any) -> AgentRead:
    """A new agent (version 1) made by the caller, recorded as `agent.created`."""
    row = Agent(created_by=user_id, version=1, **fields)
    db.add(row)
    await db.flush()
    await _event(db, row, user_id, "agent.created")
    return agent_read(row)


async def _event(db: AsyncSession, row: Agent, user_id: uuid.UUID, type_: str) -> None:
    await record_event(
        db,
        project_id=row.project_id,
        actor_id=user_id,
        type=type_,
        data={"agent_id": str(row.id), "name": row.name},
    )


async def get_agent(db: AsyncSession, *, user_id: uuid.UUID, agent_id: uuid.UUID) -> AgentRead:
    return agent_read(await load_agent(db, user_id=user_id, agent_id=agent_id))


async def update_agent(
    db: AsyncSession, *, user_id: uuid.UUID, agent_id: uuid.UUID, body: AgentUpdate
) -> AgentRead:
    row = await load_agent(db, user_id=user_id, agent_id=agent_id, min_role=Role.EDITOR)
    sent = body.model_fields_set
    if "provider_id" in sent and body.provider_id not in (None, row.provider_id):
        await _check_provider(db, user_id, body.provider_id)
    if body.tool_ids is not None:
        row.tool_ids = await _checked_tools(db, row.project_id, body.tool_ids)
    if body.knowledge_base_ids is not None:
        row.knowledge_base_ids = await _checked_knowledge_bases(
            db, row.project_id, body.knowledge_base_ids
        )
    for name in ("name", "provider_id", *SETTINGS):
        if name in sent:
            setattr(row, name, getattr(body, name))
    row.version += 1
    await db.flush()
    await db.refresh(row)
    return agent_read(row)


async def delete_agent(db: AsyncSession, *, user_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    """Delete it; its conversations stay (as plain ones) and its runs stay in the history."""
    row = await load_agent(db, user_id=user_id, agent_id=agent_id, min_role=Role.EDITOR)
    await delete_one(db, delete(Agent).where(Agent.id == row.id), missing="Agent not found")
    await _event(db, row, user_id, "agent.deleted")


async def duplicate_agent(
    db: AsyncSession, *, user_id: uuid.UUID, agent_id: uuid.UUID
) -> AgentRead:
    """A copy named "<name> (copy)" in the same project (editors). The provider stays only
    when it is the caller's own: a provider is a user's, and the copy is the caller's."""
    row = await load_agent(db, user_id=user_id, agent_id=agent_id, min_role=Role.EDITOR)
    provider_id = row.provider_id
    if provider_id is not None:
        try:
            await load_provider(db, user_id=user_id, provider_id=provider_id)
        except NotFound:
            provider_id = None
    return await _insert(
        db,
        user_id,
        project_id=row.project_id,
        name=row.name[: 200 - len(COPY_SUFFIX)] + COPY_SUFFIX,
        provider_id=provider_id,
        tool_ids=list(row.tool_ids),
        knowledge_base_ids=list(row.knowledge_base_ids),
        **{name: getattr(row, name) for name in SETTINGS},
    )


# ---------------------------------------------------------------- runs


async def start_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    agent_id: uuid.UUID,
    body: AgentRunRequest,
    idempotency_key: str | None = None,
) -> AgentTurn:
    """A queued run of the agent (editors of its project); in a conversation, with the user's
    message and the reply the run writes there."""
    agent = await load_agent(db, user_id=user_id, agent_id=agent_id)
    if body.conversation_id is None:
        run = await agent_turns.queue_agent_run(
            db,
            resources,
            user_id=user_id,
            agent=agent,
            input={"input": body.input},
            idempotency_key=idempotency_key,
        )
        return AgentTurn(run, None, None)
    try:
        conversation, project, _ = await load_conversation(
            db, user_id=user_id, conversation_id=body.conversation_id
        )
    except NotFound as exc:
        raise missing_reference("conversation_id", "Conversation") from exc
    return await agent_turns.start_turn(
        db,
        resources,
        user_id=user_id,
        conversation=conversation,
        project=project,
        agent=agent,
        content=body.input,
        idempotency_key=idempotency_key,
    )
