"""Conversations with an agent: each message starts an agent run, which writes the reply.

`start_turn` stores the user's message and the assistant's placeholder (status `streaming`,
`run_id` naming the run) and creates the run in the same transaction; the run's job is sent
after the commit. The run (the agent executor, in the worker) then fills the placeholder as
it goes through the functions below: tool calls and results, and a pending question, become
the message's parts; the final answer its content; a failure its `error`. The message stays
`streaming` while the run works or waits for an answer, and the run's events reach the
conversation's channel (the engine publishes them there), so the WebSocket shows them.

A run that ended without writing its reply (cancelled before a worker took it, failed by the
reaper after its worker died) is settled by `settle_ended_runs` (the orphan pass).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.auth.principal import Principal
from orbiter.conversations import events as conversation_events
from orbiter.conversations.history import HISTORY_ROWS, build_history, title_from
from orbiter.conversations.schemas import ConversationRead, Exchange, MessageCreate, MessageRead
from orbiter.conversations.service import conversation_read, load_conversation
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, ServiceUnavailable, UpstreamError, ValidationFailed
from orbiter.core.time import utcnow
from orbiter.llm.base import ChatMessage
from orbiter.models import Agent, Conversation, Message, Project, Role, Run, Workspace
from orbiter.models.runs import FINISHED_STATUSES
from orbiter.queue import send_pending
from orbiter.runs import events as run_events
from orbiter.runs import service as runs
from orbiter.runtime.resources import Resources
from orbiter.tenancy.access import missing_reference

CANCELLED = "The run was cancelled"


@dataclass
class AgentTurn:
    run: Run
    user_message: MessageRead | None  # None when an idempotency key returned an earlier run
    assistant_message: MessageRead | None
    updated: ConversationRead | None = None  # the conversation, when this turn titled it


async def queue_agent_run(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    agent: Agent,
    input: dict[str, Any],
    conversation_id: uuid.UUID | None = None,
    idempotency_key: str | None = None,
    version: str | None = None,
) -> Run:
    """A queued run of this version of the agent (or of `version`, whose settings `input`
    pins), or an earlier one for a known key."""
    return await runs.create_run(
        db,
        resources,
        user_id=user_id,
        project_id=agent.project_id,
        kind="agent",
        target_id=agent.id,
        target_version=version or str(agent.version),
        input=input,
        conversation_id=conversation_id,
        idempotency_key=idempotency_key,
    )


async def start_turn(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    conversation: Conversation,
    project: Project,
    agent: Agent,
    content: str,
    idempotency_key: str | None = None,
) -> AgentTurn:
    """The user's message, the assistant's placeholder and the run that writes it."""
    if conversation.project_id != agent.project_id:
        raise missing_reference("conversation_id", "Conversation")
    assistant_id = uuid.uuid4()
    run = await queue_agent_run(
        db,
        resources,
        user_id=user_id,
        agent=agent,
        input={"input": content, "message_id": str(assistant_id)},
        conversation_id=conversation.id,
        idempotency_key=idempotency_key,
    )
    if run.input.get("message_id") != str(assistant_id):  # an earlier run, by its key
        return AgentTurn(run, None, None)
    now = utcnow()
    user = Message(
        conversation_id=conversation.id,
        role="user",
        content=content,
        parts=[{"type": "text", "text": content}],
        status="complete",
        user_id=user_id,
        created_at=now,
    )
    assistant = Message(
        id=assistant_id,
        conversation_id=conversation.id,
        role="assistant",
        content="",
        parts=[],
        status="streaming",
        run_id=run.id,
        created_at=now + timedelta(microseconds=1),
    )
    db.add_all([user, assistant])
    titled = conversation.title is None
    if titled:
        conversation.title = title_from(content)
    conversation.updated_at = now
    await db.flush()
    updated = None
    if titled:
        workspace_name = await _workspace_name(db, conversation.workspace_id)
        updated = conversation_read(conversation, project.name, workspace_name)
    return AgentTurn(
        run, MessageRead.model_validate(user), MessageRead.model_validate(assistant), updated
    )


async def _workspace_name(db: AsyncSession, workspace_id: uuid.UUID | None) -> str | None:
    if workspace_id is None:
        return None
    return await db.scalar(select(Workspace.name).where(Workspace.id == workspace_id))


async def post_agent_message(
    resources: Resources, principal: Principal, *, conversation_id: uuid.UUID, body: MessageCreate
) -> AgentTurn | None:
    """When the conversation talks to an agent: start its turn (committed, job sent, the new
    messages published). None for a conversation without an agent."""
    async with transaction(resources.sessionmaker) as db:
        conversation, project, _ = await load_conversation(
            db, user_id=principal.user_id, conversation_id=conversation_id, min_role=Role.EDITOR
        )
        if conversation.agent_id is None:
            return None
        if body.provider_id is not None or body.model is not None:
            raise ValidationFailed.for_field(
                "provider_id" if body.provider_id is not None else "model",
                "This conversation talks to an agent: its provider and model come from the agent",
            )
        agent = await db.get(Agent, conversation.agent_id)
        assert agent is not None  # a foreign key: deleting the agent clears agent_id
        turn = await start_turn(
            db,
            resources,
            user_id=principal.user_id,
            conversation=conversation,
            project=project,
            agent=agent,
            content=body.content,
        )
    await send_pending(resources.queue, db)
    await announce(resources, conversation_id, turn)
    return turn


async def announce(resources: Resources, conversation_id: uuid.UUID, turn: AgentTurn) -> None:
    """The new messages (and a new title) on the conversation's channel."""
    with contextlib.suppress(ServiceUnavailable):
        for message in (turn.user_message, turn.assistant_message):
            if message is not None:
                await conversation_events.publish(
                    resources.pubsub,
                    conversation_id,
                    "message.created",
                    {"message": message.model_dump(mode="json")},
                )
        if turn.updated is not None:
            await conversation_events.publish(
                resources.pubsub,
                conversation_id,
                "conversation.updated",
                {"conversation": turn.updated.model_dump(mode="json")},
            )


async def wait_for_turn(resources: Resources, turn: AgentTurn) -> Exchange:
    """Follow the run until it ends or asks a question; the exchange as stored then.

    A run failing on its provider is a 502 (both messages stay stored)."""
    assert turn.user_message is not None and turn.assistant_message is not None
    stream = run_events.follow(resources, turn.run.id)
    last: run_events.RunEvent | None = None
    async with contextlib.aclosing(stream):
        async for item in stream:
            if item is not None and item.stopping:
                last = item
                break
    async with transaction(resources.sessionmaker) as db:
        stored = await db.get(Message, turn.assistant_message.id)
        assistant = MessageRead.model_validate(stored) if stored else turn.assistant_message
    error = (last.data.get("error") or {}) if last is not None and last.type == "error" else {}
    if error.get("code") == "UPSTREAM_ERROR":
        raise UpstreamError(
            str(error.get("message") or "The model failed"),
            details={
                "run_id": str(turn.run.id),
                "user_message_id": str(turn.user_message.id),
                "assistant_message_id": str(turn.assistant_message.id),
            },
        )
    return Exchange(user_message=turn.user_message, assistant_message=assistant)


async def run_of_conversation(
    resources: Resources, principal: Principal, *, conversation_id: uuid.UUID, run_id: uuid.UUID
) -> bool:
    """Whether `run_id` names a run of this conversation the caller may follow."""
    async with transaction(resources.sessionmaker) as db:
        await load_conversation(db, user_id=principal.user_id, conversation_id=conversation_id)
        run = await db.get(Run, run_id)
        return run is not None and run.conversation_id == conversation_id


def follow_turn(
    resources: Resources, run_id: uuid.UUID, last_event_id: str | None = None
) -> AsyncGenerator[run_events.RunEvent | None]:
    return run_events.follow(resources, run_id, last_event_id)


# ---------------------------------------------------------------- the run's side


async def history(
    resources: Resources, message_id: uuid.UUID, *, model: str, system_prompt: str
) -> list[ChatMessage]:
    """What the agent's model sees of the conversation: the instructions, then the turns
    before its reply (the user's new message last) that fit the model's context."""
    async with transaction(resources.sessionmaker) as db:
        reply = await db.get(Message, message_id)
        if reply is None:
            raise AppError("The reply's message was deleted")
        past = (
            await db.scalars(
                select(Message)
                .where(
                    Message.conversation_id == reply.conversation_id,
                    Message.created_at < reply.created_at,
                )
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(HISTORY_ROWS)
            )
        ).all()
    return build_history(list(reversed(past)), model=model, system_prompt=system_prompt)


async def save_reply(
    resources: Resources, message_id: uuid.UUID, *, content: str, parts: list[dict[str, Any]]
) -> None:
    """The reply so far (its parts: tool calls, results, a question)."""
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "streaming")
            .values(content=content, parts=parts, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )


async def finish_reply(
    resources: Resources,
    message_id: uuid.UUID,
    *,
    status: str,
    content: str,
    parts: list[dict[str, Any]],
    error: str | None = None,
    usage: tuple[int, int] | None = None,
    provider: tuple[uuid.UUID, str] | None = None,
) -> None:
    """The reply's end: `complete` with the answer, or `error` / `incomplete` with why."""
    values: dict[str, Any] = {
        "status": status,
        "content": content,
        "parts": parts,
        "error": error,
        "updated_at": utcnow(),
    }
    if usage is not None:
        values["prompt_tokens"], values["completion_tokens"] = usage
    if provider is not None:
        values["provider_id"], values["model"] = provider
    async with transaction(resources.sessionmaker) as db:
        result = await db.execute(
            update(Message)
            .where(Message.id == message_id, Message.status == "streaming")
            .values(**values)
            .returning(Message.conversation_id)
        )
        conversation_id = result.scalar_one_or_none()
        if conversation_id is not None:
            await db.execute(
                update(Conversation)
                .where(Conversation.id == conversation_id)
                .values(updated_at=utcnow())
            )


async def settle_ended_runs(
    sessionmaker: async_sessionmaker[AsyncSession], *, quiet_for: timedelta
) -> int:
    """Replies still `streaming` whose run ended without writing them (cancelled while it
    waited, failed by the reaper): stored with the run's outcome. How many there were."""
    async with transaction(sessionmaker) as db:
        rows = (
            await db.execute(
                select(Message.id, Run.status, Run.error)
                .join(Run, Run.id == Message.run_id)
                .where(
                    Message.status == "streaming",
                    Message.updated_at < utcnow() - quiet_for,
                    Run.status.in_(FINISHED_STATUSES),
                )
            )
        ).all()
        for message_id, run_status, run_error in rows:
            status, error = _ending(run_status, run_error)
            await db.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "streaming")
                .values(status=status, error=error)
                .execution_options(synchronize_session=False)
            )
    return len(rows)


def _ending(run_status: str, run_error: dict[str, Any] | None) -> tuple[str, str | None]:
    if run_status == "succeeded":
        return "complete", None
    if run_status == "cancelled":
        return "incomplete", CANCELLED
    return "error", str((run_error or {}).get("message") or "The run failed")
