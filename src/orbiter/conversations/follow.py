"""Following a reply: resuming it, reading its events in order, and turning them into a response.

Whoever waits for a reply (the SSE response, the JSON response, a resumed stream) follows the
conversation's channel and the reply's log (`follow_reply`), on any replica; the reply itself
runs in `replies.py`.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

from sqlalchemy import update

from orbiter.auth.principal import Principal
from orbiter.conversations import events as ev
from orbiter.conversations.events import StreamEvent
from orbiter.conversations.orphans import SILENCE_SECONDS, STOPPED_GONE
from orbiter.conversations.replies import (
    HEARTBEAT_SECONDS,
    StartedReply,
    alive_key,
    touch_listener,
)
from orbiter.conversations.schemas import Exchange, MessageRead
from orbiter.conversations.service import load_conversation
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, NotFound, ServiceUnavailable, UpstreamError
from orbiter.core.pubsub import SubscriptionLost
from orbiter.models import Message
from orbiter.runtime.resources import Resources

STALL_CHECK_SECONDS = SILENCE_SECONDS  # a follower that heard nothing this long checks


async def check_resumable(
    resources: Resources, principal: Principal, *, conversation_id: uuid.UUID, message_id: uuid.UUID
) -> None:
    """The reply named by a `Last-Event-ID` must be an assistant message of this conversation."""
    async with transaction(resources.sessionmaker) as db:
        await load_conversation(db, user_id=principal.user_id, conversation_id=conversation_id)
        message = await db.get(Message, message_id)
        if message is None or message.conversation_id != conversation_id:
            raise NotFound("Message not found")
        if message.role != "assistant":
            raise NotFound("Message not found")


async def follow_reply(
    resources: Resources, conversation_id: uuid.UUID, message_id: uuid.UUID, after_seq: int = 0
) -> AsyncGenerator[StreamEvent | None]:
    """The reply's events after `after_seq`, in order, without duplicates, until `done`/`error`.

    Yields None about once a second while waiting (a tick for keep-alives). Subscribes first,
    then reads the log, so nothing published in between is lost on any replica.
    """
    pubsub = resources.pubsub
    last = after_seq
    async with pubsub.subscribe(ev.channel(conversation_id)) as live:
        queue: asyncio.Queue[str | BaseException] = asyncio.Queue()
        pump = asyncio.create_task(_pump(live, queue))
        try:
            logged = await _logged(resources, message_id)
            for item in logged:
                seq = _seq(item)
                if seq > last:
                    last = seq
                    yield item
                    if item.terminal:
                        return
            if not logged and (ended := await _ended(resources, message_id, last)) is not None:
                yield ended
                return
            quiet = 0.0
            while True:
                await touch_listener(resources, conversation_id)
                try:
                    raw = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    quiet += HEARTBEAT_SECONDS
                    yield None
                    if quiet >= STALL_CHECK_SECONDS:
                        quiet = 0.0
                        if (ended := await _ended(resources, message_id, last)) is not None:
                            yield ended
                            return
                    continue
                if isinstance(raw, BaseException):
                    raise raw
                item = StreamEvent.decode(raw)
                position = item.position
                if position is None or position[0] != message_id or position[1] <= last:
                    continue
                quiet = 0.0
                if position[1] > last + 1:  # missed some: the log has them
                    for missed in await _missed(resources, message_id, last, position[1]):
                        yield missed
                last = position[1]
                yield item
                if item.terminal:
                    return
        finally:
            pump.cancel()


def _seq(item: StreamEvent) -> int:
    position = item.position
    return position[1] if position else 0


async def _pump(live: AsyncIterator[str], queue: asyncio.Queue[str | BaseException]) -> None:
    try:
        async for raw in live:
            queue.put_nowait(raw)
    except SubscriptionLost as exc:
        queue.put_nowait(exc)


async def _logged(resources: Resources, message_id: uuid.UUID) -> list[StreamEvent]:
    return [
        StreamEvent.decode(raw) for raw in await resources.pubsub.read_log(ev.reply_log(message_id))
    ]


async def _missed(
    resources: Resources, message_id: uuid.UUID, last: int, before: int
) -> list[StreamEvent]:
    """The logged events after `last` and before `before`, in order."""
    return [item for item in await _logged(resources, message_id) if last < _seq(item) < before]


async def _ended(resources: Resources, message_id: uuid.UUID, last: int) -> StreamEvent | None:
    """The end of a reply whose events are gone (log expired) or whose replica died, else None."""
    async with transaction(resources.sessionmaker) as db:
        message = await db.get(Message, message_id)
        if message is None:
            return StreamEvent(
                "error",
                {
                    "message_id": str(message_id),
                    "error": {"code": "RESOURCE_NOT_FOUND", "message": "The message was deleted"},
                    "message": None,
                },
                ev.event_id(message_id, last + 1),
            )
        if message.status == "streaming":
            if await resources.kv.get(alive_key(message_id)) is not None:
                return None
            await db.execute(
                update(Message)
                .where(Message.id == message_id, Message.status == "streaming")
                .values(status="incomplete", error=STOPPED_GONE)
            )
            message.status, message.error = "incomplete", STOPPED_GONE
        final = MessageRead.model_validate(message).model_dump(mode="json")
    if message.status == "complete":
        return StreamEvent("done", {"message": final}, ev.event_id(message_id, last + 1))
    code = "UPSTREAM_ERROR" if message.status == "error" else "REPLY_STOPPED"
    return StreamEvent(
        "error",
        {
            "message_id": str(message_id),
            "error": {"code": code, "message": message.error},
            "message": final,
        },
        ev.event_id(message_id, last + 1),
    )


def error_for(item: StreamEvent, started: StartedReply | None = None) -> AppError:
    """The HTTP error for a reply that failed before any output (or for a JSON caller)."""
    error = item.data.get("error") or {}
    details: dict[str, Any] = {"assistant_message_id": item.data.get("message_id")}
    if started is not None:
        details["user_message_id"] = str(started.user_message.id)
    message = str(error.get("message") or "The model failed")
    code = error.get("code")
    if code == "UPSTREAM_ERROR":
        return UpstreamError(message, details=details)
    if code == "REPLY_STOPPED":
        return ServiceUnavailable(message, details=details)
    return AppError(message, details=details)


async def first_output(
    events: AsyncGenerator[StreamEvent | None], started: StartedReply
) -> list[StreamEvent]:
    """Read until the model's first output; a failure before any becomes an HTTP error."""
    head: list[StreamEvent] = []
    async for item in events:
        if item is None:
            continue
        head.append(item)
        if item.event == "message.created":
            continue
        if item.event == "error" and not (item.data.get("message") or {}).get("content"):
            await events.aclose()
            raise error_for(item, started)
        return head
    return head


async def wait_for_reply(
    events: AsyncIterator[StreamEvent | None], started: StartedReply
) -> Exchange:
    async for item in events:
        if item is None or not item.terminal:
            continue
        if item.event == "error":
            raise error_for(item, started)
        return Exchange(
            user_message=started.user_message,
            assistant_message=MessageRead.model_validate(item.data["message"]),
        )
    raise ServiceUnavailable("The reply's event stream ended early")
