"""/api/v1/conversations: conversations, messages (streamed replies), and the live WebSocket."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Header, Query, Request, Response, WebSocket
from fastapi.responses import StreamingResponse

from orbiter.auth.dependencies import CurrentPrincipal
from orbiter.conversations import agent_turns, events, follow, questions, replies, service
from orbiter.conversations.events import StreamEvent
from orbiter.conversations.guard import AccessLost, StreamGuard, request_guard, watching
from orbiter.conversations.schemas import (
    Cleared,
    ConversationCreate,
    ConversationRead,
    ConversationUpdate,
    Exchange,
    MessageCreate,
    MessageParts,
    MessageRead,
    ProjectInfo,
    QuestionReply,
    TimelineEntry,
)
from orbiter.conversations.stream import serve_stream
from orbiter.core.errors import BadRequest
from orbiter.core.pagination import Page
from orbiter.core.sse import SSE_HEADERS, SSE_MEDIA_TYPE, format_comment, format_sse
from orbiter.runs import events as run_events
from orbiter.runs.schemas import RunRead
from orbiter.runtime.deps import DbSession, PageParamsDep, ResourcesDep

router = APIRouter(prefix="/conversations", tags=["conversations"])

KEEPALIVE_TICKS = 15  # a `: keep-alive` comment after this many quiet heartbeats
Before = Annotated[
    uuid.UUID | None,
    Query(description="A message id: return the messages older than it"),
]


@router.post("", status_code=201, response_model=ConversationRead, summary="Start a conversation")
async def create_conversation(
    body: ConversationCreate, principal: CurrentPrincipal, db: DbSession
) -> ConversationRead:
    """In `project_id` (default: the caller's personal project), optionally in a workspace."""
    return await service.create_conversation(db, user_id=principal.user_id, body=body)


@router.get("", response_model=Page[ConversationRead], summary="List conversations")
async def list_conversations(
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    project_id: uuid.UUID | None = None,
    workspace_id: uuid.UUID | None = None,
) -> Page[ConversationRead]:
    """The caller's conversations across their projects, most recently active first."""
    data, info = await service.list_conversations(
        db,
        user_id=principal.user_id,
        params=page,
        codec=resources.cursors,
        project_id=project_id,
        workspace_id=workspace_id,
    )
    return Page(data=data, pagination=info)


@router.get("/{conversation_id}", response_model=ConversationRead, summary="Get a conversation")
async def get_conversation(
    conversation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession
) -> ConversationRead:
    return await service.get_conversation(
        db, user_id=principal.user_id, conversation_id=conversation_id
    )


@router.patch(
    "/{conversation_id}", response_model=ConversationRead, summary="Update a conversation"
)
async def update_conversation(
    conversation_id: uuid.UUID,
    body: ConversationUpdate,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> ConversationRead:
    """Rename, or move to another workspace of the same project (editor or owner)."""
    updated = await service.update_conversation(
        db, user_id=principal.user_id, conversation_id=conversation_id, body=body
    )
    # Background tasks run after the commit: subscribers never hear of uncommitted changes.
    background.add_task(
        events.publish,
        resources.pubsub,
        conversation_id,
        "conversation.updated",
        {"conversation": updated.model_dump(mode="json")},
    )
    return updated


@router.delete("/{conversation_id}", status_code=204, summary="Delete a conversation")
async def delete_conversation(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> Response:
    """Delete it and its messages (editor or owner)."""
    await service.delete_conversation(
        db, user_id=principal.user_id, conversation_id=conversation_id
    )
    background.add_task(
        events.publish,
        resources.pubsub,
        conversation_id,
        "conversation.deleted",
        {"conversation_id": str(conversation_id)},
    )
    return Response(status_code=204, background=background)


@router.get(
    "/{conversation_id}/messages", response_model=Page[MessageRead], summary="List messages"
)
async def list_messages(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    before: Before = None,
) -> Page[MessageRead]:
    """The newest page of messages (older than `before`), in chronological order.

    `pagination.next_cursor` (or `before=<first id on the page>`) pages back in time.
    """
    data, info = await service.list_messages(
        db,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        params=page,
        codec=resources.cursors,
        before=before,
    )
    return Page(data=data, pagination=info)


@router.post(
    "/{conversation_id}/messages",
    response_model=Exchange,
    responses={
        200: {
            "description": "`{user_message, assistant_message}`, or with "
            "`Accept: text/event-stream` an SSE stream: `message.created` (user, then "
            "assistant), `delta`, `tool_call`, then `done` or `error`; each with an `id`",
            "content": {SSE_MEDIA_TYPE: {}},
        },
        502: {"description": "The model failed before replying; the user message is stored"},
    },
    summary="Send a message",
)
async def post_message(
    conversation_id: uuid.UUID,
    body: MessageCreate,
    principal: CurrentPrincipal,
    resources: ResourcesDep,
    request: Request,
    response: Response,
    last_event_id: Annotated[
        str | None,
        Header(
            alias="Last-Event-ID",
            description="Resume a reply's SSE stream after this event instead of posting again",
        ),
    ] = None,
) -> Exchange | StreamingResponse:
    """Send a message; the assistant's reply is generated, stored and streamed.

    The user message is stored before the model is called. With `Accept: text/event-stream`
    the reply streams as SSE; a client that lost the stream re-sends the same request with
    `Last-Event-ID` and receives the events after that one (no new message is posted).
    Without it, the call waits and returns both messages. 502 when the model fails before
    any output (both messages stay stored; the assistant's with status `error`).

    In a conversation with an agent, the message starts an agent run (the assistant message's
    `run_id`) that writes the reply: the SSE stream is `message.created` (user, then
    assistant), then the run's events (`step_started`, `delta`, `tool_call`, `tool_result`,
    `question`, then `done`, `error` or `cancelled`; ids `<run id>:<seq>`), ending at the end
    of the run or at a question; without SSE the call returns when the run ends or asks.
    """
    wants_sse = SSE_MEDIA_TYPE in request.headers.get("accept", "")

    def guard() -> StreamGuard:
        return request_guard(
            resources,
            principal,
            conversation_id,
            headers=request.headers,
            cookies=dict(request.cookies),
        )

    if last_event_id is not None:
        if not wants_sse:
            raise BadRequest("Last-Event-ID resumes an SSE stream: send Accept: text/event-stream")
        message_id, seq = events.parse_event_id(last_event_id)
        if await agent_turns.run_of_conversation(
            resources, principal, conversation_id=conversation_id, run_id=message_id
        ):
            resumed = agent_turns.follow_turn(resources, message_id, last_event_id)
            return _run_sse_response([], resumed, guard())
        await follow.check_resumable(
            resources, principal, conversation_id=conversation_id, message_id=message_id
        )
        stream = follow.follow_reply(resources, conversation_id, message_id, seq)
        return _sse_response([], stream, {}, guard(), message_id)
    turn = await agent_turns.post_agent_message(
        resources, principal, conversation_id=conversation_id, body=body
    )
    if turn is not None:
        if wants_sse:
            created = [
                format_sse("message.created", {"message": message.model_dump(mode="json")})
                for message in (turn.user_message, turn.assistant_message)
                if message is not None
            ]
            running = agent_turns.follow_turn(resources, turn.run.id)
            return _run_sse_response(created, running, guard())
        return await agent_turns.wait_for_turn(resources, turn)
    started = await replies.start_reply(
        resources, principal, conversation_id=conversation_id, body=body
    )
    rate_headers = started.rate.headers() if started.rate else {}
    stream = follow.follow_reply(resources, conversation_id, started.assistant_message.id)
    if wants_sse:
        head = await follow.first_output(stream, started)
        return _sse_response(head, stream, rate_headers, guard(), started.assistant_message.id)
    async with aclosing(stream):
        exchange = await follow.wait_for_reply(stream, started)
    response.headers.update(rate_headers)
    return exchange


def _sse_response(
    head: list[StreamEvent],
    stream: AsyncGenerator[StreamEvent | None],
    headers: dict[str, str],
    guard: StreamGuard,
    message_id: uuid.UUID,
) -> StreamingResponse:
    """The reply's events; when the caller loses access, an `error` event ends the stream
    (the guard checks beside the stream, which yields at least once a second)."""

    async def body() -> AsyncIterator[bytes]:
        async with aclosing(stream), watching(guard) as lost:  # the client may leave at any yield
            for first in head:
                yield format_sse(first.event, first.data, first.id)
            if head and head[-1].terminal:
                return
            quiet = 0
            async for item in stream:
                if lost.done():
                    ended = lost.result().event(message_id)
                    yield format_sse(ended.event, ended.data, ended.id)
                    return
                if item is None:
                    quiet += 1
                    if quiet >= KEEPALIVE_TICKS:
                        quiet = 0
                        yield format_comment("keep-alive")
                    continue
                quiet = 0
                yield format_sse(item.event, item.data, item.id)

    return StreamingResponse(body(), media_type=SSE_MEDIA_TYPE, headers={**SSE_HEADERS, **headers})


def _run_sse_response(
    head: list[bytes],
    stream: AsyncGenerator[run_events.RunEvent | None],
    guard: StreamGuard,
) -> StreamingResponse:
    """An agent run's events as SSE after `head`, ended early (an `error` event) when the
    caller loses access."""

    async def body() -> AsyncIterator[bytes]:
        async with aclosing(stream), watching(guard) as lost:
            for frame in head:
                yield frame
            async for frame in run_events.sse_frames(_until_lost(stream, lost)):
                yield frame
            if lost.done():
                ended = lost.result().event(None)
                yield format_sse(ended.event, ended.data, ended.id)

    return StreamingResponse(body(), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


async def _until_lost(
    stream: AsyncGenerator[run_events.RunEvent | None], lost: asyncio.Task[AccessLost]
) -> AsyncIterator[run_events.RunEvent | None]:
    async for item in stream:
        if lost.done():
            return
        yield item


@router.get(
    "/{conversation_id}/message-parts",
    response_model=Page[MessageParts],
    summary="List message parts",
)
async def list_message_parts(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
    before: Before = None,
) -> Page[MessageParts]:
    """Each message's structured parts (text, tool calls, tool results), paged like messages."""
    data, info = await service.list_message_parts(
        db,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        params=page,
        codec=resources.cursors,
        before=before,
    )
    return Page(data=data, pagination=info)


@router.post(
    "/{conversation_id}/questions/{request_id}/reply",
    response_model=RunRead,
    summary="Answer an agent's question",
)
async def reply_to_question(
    conversation_id: uuid.UUID,
    request_id: str,
    body: QuestionReply,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> RunRead:
    """Answer the question an agent asked (`question` event, `request_id`): one list of
    answers per question. The run continues in the background (editor or owner); 404 when no
    run of the conversation waits for this question."""
    return await questions.answer_question(
        db,
        resources,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        request_id=request_id,
        answers=body.answers,
    )


@router.post(
    "/{conversation_id}/questions/{request_id}/reject",
    response_model=RunRead,
    summary="Decline an agent's question",
)
async def reject_question(
    conversation_id: uuid.UUID,
    request_id: str,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
) -> RunRead:
    """Decline to answer: the agent is told the user declined, and its run continues."""
    return await questions.answer_question(
        db,
        resources,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        request_id=request_id,
        answers=None,
    )


@router.post("/{conversation_id}/clear", response_model=Cleared, summary="Clear a conversation")
async def clear_conversation(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    background: BackgroundTasks,
) -> Cleared:
    """Delete all its messages (editor or owner); the conversation stays."""
    count = await service.clear_messages(
        db, user_id=principal.user_id, conversation_id=conversation_id
    )
    background.add_task(
        events.publish,
        resources.pubsub,
        conversation_id,
        "conversation.cleared",
        {"conversation_id": str(conversation_id), "cleared": count},
    )
    return Cleared(cleared=count)


@router.get(
    "/{conversation_id}/timeline",
    response_model=Page[TimelineEntry],
    summary="Get the timeline: messages, tool calls, snapshots, deployments",
)
async def conversation_timeline(
    conversation_id: uuid.UUID,
    principal: CurrentPrincipal,
    db: DbSession,
    resources: ResourcesDep,
    page: PageParamsDep,
) -> Page[TimelineEntry]:
    """Messages and their tool calls, the conversation's deployments and its workspace's
    snapshots, oldest first. `limit` counts messages; a page holds the events from its first
    message (the beginning, on the first page) up to the next page's first message."""
    data, info = await service.timeline(
        db,
        user_id=principal.user_id,
        conversation_id=conversation_id,
        params=page,
        codec=resources.cursors,
    )
    return Page(data=data, pagination=info)


@router.get(
    "/{conversation_id}/project-info",
    response_model=ProjectInfo,
    summary="Get the conversation's project",
)
async def project_info(
    conversation_id: uuid.UUID, principal: CurrentPrincipal, db: DbSession, resources: ResourcesDep
) -> ProjectInfo:
    """Its project, its workspace and that workspace's current manifest (file count, bytes)."""
    return await service.project_info(
        db, resources.blobs, user_id=principal.user_id, conversation_id=conversation_id
    )


STREAM_PATH = "/api/v1/conversations/{conversation_id}/stream"


async def conversation_stream(websocket: WebSocket, conversation_id: uuid.UUID) -> None:
    """Live events of the conversation (WebSocket at STREAM_PATH; see `conversations/stream.py`).

    Mounted on the app itself in `main.py`: FastAPI keeps included routers behind a wrapper, and
    whatever lists `app.routes` (the API coverage check) sees only top-level routes.
    """
    await serve_stream(websocket, websocket.app.state.resources, conversation_id)
