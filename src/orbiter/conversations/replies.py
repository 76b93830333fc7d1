"""Posting a message: store the user's turn, run the model in the background, follow the reply.

Transactions: unlike the rest of the service layer this module owns short transactions of its
own (`resources.sessionmaker`), because a reply outlives the request that asked for it:

1. the user message and an empty assistant message (`streaming`) are committed BEFORE the
   model is called, so the user's turn is never lost;
2. the model runs in an asyncio task (`Reply.run`), not in the request: it publishes every
   event on the conversation's channel and appends it to the reply's bounded log, flushes the
   text received so far to the database about once a second, and finally stores the outcome
   (`complete`; `incomplete` when cut, stopped or failed after some text; `error` when it
   failed before any) with the token usage;
3. whoever waits for the reply (the SSE response, the JSON response, a resumed stream)
   follows the channel and the log (`follow.follow_reply`), on any replica.

A reply keeps running when its client drops, so the client can resume with `Last-Event-ID`
and other tabs (the WebSocket) see it finish. When nobody has followed the conversation for
`RESUME_GRACE_SECONDS` (no SSE follower and no WebSocket subscriber refreshed the listener
key), the reply is stopped and stored `incomplete` with the text received so far.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.auth.principal import Principal
from orbiter.conversations import events as ev
from orbiter.conversations.events import StreamEvent
from orbiter.conversations.history import HISTORY_ROWS, build_history, title_from
from orbiter.conversations.schemas import ConversationRead, MessageCreate, MessageRead
from orbiter.conversations.service import conversation_read, load_conversation
from orbiter.conversations.usage import add_reply_usage, priced
from orbiter.core.db import transaction
from orbiter.core.errors import AppError, ServiceUnavailable, UpstreamError
from orbiter.core.ratelimit import Decision
from orbiter.core.time import utcnow
from orbiter.llm.base import ChatMessage, ChatOptions, Finish, TextDelta, ToolCall, Usage
from orbiter.models import Conversation, Message, Role, Workspace
from orbiter.providers.opening import OpenedProvider, open_provider
from orbiter.providers.rate_limit import enforce_llm_rate_limit
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.conversations")

RESUME_GRACE_SECONDS = 30  # a reply nobody follows is stopped this long after the last one left
HEARTBEAT_SECONDS = 1.0  # followers refresh the listener key; the reply its "alive" key
ALIVE_TTL_SECONDS = 15  # a reply whose alive key lapsed died with its replica
FLUSH_SECONDS = 1.0  # how often the text so far is written to the database
TOUCH_SECONDS = 3.0  # a silent reply still moves its updated_at this often (orphans.py)
LOG_TTL_SECONDS = 600  # a reply's event log is kept this long after its last event

_running: set[asyncio.Task[None]] = set()


def listener_key(conversation_id: uuid.UUID) -> str:
    return f"conversation-listeners:{conversation_id}"


def alive_key(message_id: uuid.UUID) -> str:
    return f"reply-alive:{message_id}"


async def touch_listener(resources: Resources, conversation_id: uuid.UUID) -> None:
    """Someone follows this conversation: its replies keep running."""
    with contextlib.suppress(ServiceUnavailable):
        await resources.kv.put(listener_key(conversation_id), "1", RESUME_GRACE_SECONDS)


@dataclass
class StartedReply:
    conversation_id: uuid.UUID
    user_message: MessageRead
    assistant_message: MessageRead
    rate: Decision | None


async def start_reply(
    resources: Resources, principal: Principal, *, conversation_id: uuid.UUID, body: MessageCreate
) -> StartedReply:
    """Check, store the user's turn and the assistant placeholder, and start the model."""
    user_id = principal.user_id
    async with transaction(resources.sessionmaker) as db:
        await load_conversation(
            db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
        )
    rate = await enforce_llm_rate_limit(resources, principal)
    async with transaction(resources.sessionmaker) as db:
        opened = await open_provider(
            db, resources, user_id=user_id, provider_id=body.provider_id, model=body.model
        )
    try:
        async with transaction(resources.sessionmaker) as db:
            turn = await _store_turn(
                db, user_id=user_id, conversation_id=conversation_id, body=body, opened=opened
            )
    except BaseException:
        await opened.close()
        raise
    user_read = MessageRead.model_validate(turn.user)
    assistant_read = MessageRead.model_validate(turn.assistant)
    await touch_listener(resources, conversation_id)
    with contextlib.suppress(ServiceUnavailable):  # alive before any follower can look
        await resources.kv.put(alive_key(turn.assistant.id), "1", ALIVE_TTL_SECONDS)
    reply = Reply(resources, conversation_id, assistant_read, opened, turn.history)
    _launch(reply.run(user_read, turn.updated), name=f"reply-{turn.assistant.id}")
    return StartedReply(conversation_id, user_read, assistant_read, rate)


@dataclass
class _StoredTurn:
    user: Message
    assistant: Message
    history: list[ChatMessage]
    updated: ConversationRead | None  # the conversation, when this turn gave it its title


async def _store_turn(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    conversation_id: uuid.UUID,
    body: MessageCreate,
    opened: OpenedProvider,
) -> _StoredTurn:
    """Add the user's message and the `streaming` assistant placeholder; title a new chat."""
    conversation, project, _ = await load_conversation(
        db, user_id=user_id, conversation_id=conversation_id, min_role=Role.EDITOR
    )
    past = await _recent_messages(db, conversation_id)
    now = utcnow()
    user = _user_message(conversation_id, user_id, body.content, now)
    assistant = _assistant_placeholder(conversation_id, opened, now + timedelta(microseconds=1))
    db.add_all([user, assistant])
    titled = conversation.title is None
    if titled:
        conversation.title = title_from(body.content)
    conversation.provider_id = opened.row.id
    conversation.model = opened.model
    conversation.updated_at = now
    await db.flush()
    history = build_history([*reversed(past), user], model=opened.model)
    updated = None
    if titled:
        workspace_name = await _workspace_name(db, conversation)
        updated = conversation_read(conversation, project.name, workspace_name)
    return _StoredTurn(user, assistant, history, updated)


async def _recent_messages(db: AsyncSession, conversation_id: uuid.UUID) -> list[Message]:
    """The newest `HISTORY_ROWS` messages of the conversation, newest first."""
    return list(
        (
            await db.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id)
                .order_by(Message.created_at.desc(), Message.id.desc())
                .limit(HISTORY_ROWS)
            )
        ).all()
    )


def _user_message(
    conversation_id: uuid.UUID, user_id: uuid.UUID, content: str, created_at: datetime
) -> Message:
    return Message(
        conversation_id=conversation_id,
        role="user",
        content=content,
        parts=[{"type": "text", "text": content}],
        status="complete",
        user_id=user_id,
        created_at=created_at,
    )


def _assistant_placeholder(
    conversation_id: uuid.UUID, opened: OpenedProvider, created_at: datetime
) -> Message:
    return Message(
        conversation_id=conversation_id,
        role="assistant",
        content="",
        parts=[],
        status="streaming",
        provider_id=opened.row.id,
        model=opened.model,
        created_at=created_at,
    )


async def _workspace_name(db: AsyncSession, conversation: Conversation) -> str | None:
    if not conversation.workspace_id:
        return None
    return await db.scalar(select(Workspace.name).where(Workspace.id == conversation.workspace_id))


def _launch(run: Coroutine[Any, Any, None], *, name: str) -> None:
    """Run a reply in the background, remembered so `finish_running` can stop it."""
    task = asyncio.create_task(run, name=name)
    _running.add(task)
    task.add_done_callback(_running.discard)


async def finish_running(wait_seconds: float = 5.0) -> None:
    """Stop the replies running in this process (at shutdown); each is stored `incomplete`."""
    tasks = list(_running)
    for task in tasks:
        task.cancel()
    if tasks:
        await asyncio.wait(tasks, timeout=wait_seconds)


@dataclass
class Reply:
    resources: Resources
    conversation_id: uuid.UUID
    message: MessageRead
    opened: OpenedProvider
    history: list[ChatMessage]
    seq: int = 0
    text: list[str] = field(default_factory=list)
    chars: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    abandoned: bool = False
    usage: Usage | None = None
    touched: float = field(default_factory=time.monotonic)  # its row's updated_at last moved

    async def emit(self, event: str, data: dict[str, Any]) -> None:
        self.seq += 1
        item = StreamEvent(event, data, ev.event_id(self.message.id, self.seq))
        try:
            await self.resources.pubsub.publish(
                ev.channel(self.conversation_id),
                item.encode(),
                log=ev.reply_log(self.message.id),
                log_ttl=LOG_TTL_SECONDS,
            )
        except ServiceUnavailable:
            logger.warning("could not publish %s of reply %s", event, self.message.id)

    async def run(self, user: MessageRead, updated: ConversationRead | None) -> None:
        task = asyncio.current_task()
        assert task is not None
        watchdog = asyncio.create_task(self._watch(task))
        outcome: tuple[str, str, str | None] = ("complete", "done", None)  # status, event, error
        code = ""
        cancelled = False
        try:
            await self.emit("message.created", {"message": user.model_dump(mode="json")})
            await self.emit("message.created", {"message": self.message.model_dump(mode="json")})
            if updated is not None:
                with contextlib.suppress(ServiceUnavailable):
                    await ev.publish(
                        self.resources.pubsub,
                        self.conversation_id,
                        "conversation.updated",
                        {"conversation": updated.model_dump(mode="json")},
                    )
            outcome = await self._generate()
        except UpstreamError as exc:
            code, outcome = "UPSTREAM_ERROR", self._failed(exc.message)
        except asyncio.CancelledError:
            cancelled = not self.abandoned
            reason = (
                "Stopped: nobody was following the conversation"
                if self.abandoned
                else "Stopped before it finished (the server shut down)"
            )
            code, outcome = "REPLY_STOPPED", self._failed(reason, status="incomplete")
        except AppError as exc:
            code, outcome = exc.code, self._failed(exc.message)
        except Exception:
            logger.exception("reply %s failed", self.message.id)
            code, outcome = "INTERNAL_ERROR", self._failed("The reply failed unexpectedly")
        finally:
            watchdog.cancel()
        await self._finish(*outcome, code=code)
        if cancelled:
            raise asyncio.CancelledError

    def _failed(self, message: str, status: str | None = None) -> tuple[str, str, str]:
        return (status or ("incomplete" if self.chars else "error"), "error", message)

    async def _generate(self) -> tuple[str, str, str | None]:
        limit = self.resources.settings.llm_max_response_chars
        finish = None
        last_flush = time.monotonic()
        usage: Usage | None = None
        async with self.opened:
            stream = self.opened.provider.stream_chat(
                self.history, model=self.opened.model, options=ChatOptions()
            )
            async for item in stream:
                if isinstance(item, TextDelta) and item.text:
                    text = item.text[: max(0, limit - self.chars)]
                    self.text.append(text)
                    self.chars += len(text)
                    await self.emit("delta", {"message_id": str(self.message.id), "text": text})
                    if self.chars >= limit:
                        finish = "cut"
                        break
                elif isinstance(item, ToolCall):
                    call = {"id": item.id, "name": item.name, "arguments": item.arguments}
                    self.tool_calls.append(call)
                    await self.emit("tool_call", {"message_id": str(self.message.id), **call})
                elif isinstance(item, Usage):
                    usage = item
                elif isinstance(item, Finish):
                    finish = "cut" if item.truncated else item.reason
                if time.monotonic() - last_flush >= FLUSH_SECONDS:
                    await self._flush()
                    last_flush = time.monotonic()
        self.usage = usage
        if finish == "cut":
            return ("incomplete", "done", f"The reply was cut at {limit} characters")
        if finish == "length":
            return ("incomplete", "done", "The model stopped at its output token limit")
        return ("complete", "done", None)

    def _parts(self) -> list[dict[str, Any]]:
        parts: list[dict[str, Any]] = []
        if self.chars:
            parts.append({"type": "text", "text": "".join(self.text)})
        parts.extend({"type": "tool_call", **call} for call in self.tool_calls)
        return parts

    async def _flush(self) -> None:
        """Save the text so far; it moves updated_at too, which tells it is still running."""
        try:
            async with transaction(self.resources.sessionmaker) as db:
                await db.execute(
                    update(Message)
                    .where(Message.id == self.message.id, Message.status == "streaming")
                    .values(content="".join(self.text), parts=self._parts())
                )
            self.touched = time.monotonic()
        except Exception:  # the final write will try again
            logger.warning("could not save the text so far of reply %s", self.message.id)

    async def _finish(self, status: str, event: str, error: str | None, *, code: str) -> None:
        usage = self.usage
        values: dict[str, Any] = {
            "content": "".join(self.text),
            "parts": self._parts(),
            "status": status,
            "error": error,
            "prompt_tokens": usage.prompt_tokens if usage else None,
            "completion_tokens": usage.completion_tokens if usage else None,
        }
        if usage:
            values |= priced(self.opened.row, self.opened.model, usage)
        try:
            async with transaction(self.resources.sessionmaker) as db:
                ended = await db.execute(
                    update(Message)
                    .where(Message.id == self.message.id, Message.status == "streaming")
                    .values(**values)
                )
                if usage and ended.rowcount == 1:  # type: ignore[attr-defined]
                    await add_reply_usage(
                        db,
                        conversation_id=self.conversation_id,
                        created_at=self.message.created_at,
                        model=self.opened.model,
                        usage=usage,
                        recorded=values,
                    )
                await db.execute(
                    update(Conversation)
                    .where(Conversation.id == self.conversation_id)
                    .values(updated_at=utcnow())
                )
        except Exception:
            logger.exception("could not store the end of reply %s", self.message.id)
        shown = {key: value for key, value in values.items() if key in MessageRead.model_fields}
        final = self.message.model_copy(update=shown).model_dump(mode="json")
        if event == "done":
            await self.emit("done", {"message": final})
        else:
            await self.emit(
                "error",
                {
                    "message_id": str(self.message.id),
                    "error": {"code": code, "message": error},
                    "message": final,
                },
            )
        with contextlib.suppress(ServiceUnavailable):
            await self.resources.kv.delete(alive_key(self.message.id))

    async def _watch(self, task: asyncio.Task[None]) -> None:
        """Keep the alive key fresh; stop the reply when nobody follows the conversation."""
        kv = self.resources.kv
        while True:
            try:
                await kv.put(alive_key(self.message.id), "1", ALIVE_TTL_SECONDS)
                followed = await kv.get(listener_key(self.conversation_id))
            except ServiceUnavailable:
                followed = "unknown"
            if followed is None:
                self.abandoned = True
                task.cancel()
                return
            if time.monotonic() - self.touched >= TOUCH_SECONDS:  # even while the model is silent
                await self._flush()
            await asyncio.sleep(HEARTBEAT_SECONDS)
