"""The conversation's WebSocket: every event of the conversation, from every replica.

Refusals happen before the handshake completes: the socket is closed with 1008 (policy
violation) and a reason, which an ASGI server turns into an HTTP 403 for the upgrade request.
That covers missing or invalid credentials, a foreign `Origin` with a cookie, and a
conversation the caller cannot see (the same refusal whether it exists or not).

`?last_event_id=<message id>:<seq>` (an `id` from an earlier frame) first replays what was
missed of that reply from its log, then continues live without duplicates. Frames are JSON
text: `{"event", "id", "data"}` (see `events.py`). After `conversation.deleted` the server
closes with 1000. When the caller loses access while connected (credential revoked or signed
out, removed from the project, project deleted: see `guard.py`), it closes with 1008 within a
few seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

from orbiter.auth.websocket import websocket_principal
from orbiter.conversations import events as ev
from orbiter.conversations.events import StreamEvent
from orbiter.conversations.guard import AccessLost, StreamGuard, watching
from orbiter.conversations.replies import HEARTBEAT_SECONDS, touch_listener
from orbiter.conversations.service import load_conversation
from orbiter.core.db import transaction
from orbiter.core.errors import AppError
from orbiter.runtime.resources import Resources

POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013


async def serve_stream(
    websocket: WebSocket, resources: Resources, conversation_id: uuid.UUID
) -> None:
    try:
        principal = await websocket_principal(websocket, resources)
        async with transaction(resources.sessionmaker) as db:
            await load_conversation(db, user_id=principal.user_id, conversation_id=conversation_id)
        resume = websocket.query_params.get("last_event_id")
        position = ev.parse_event_id(resume) if resume else None
    except AppError as exc:
        await websocket.close(POLICY_VIOLATION, reason=exc.message[:120])
        return
    async with resources.pubsub.subscribe(ev.channel(conversation_id)) as live:
        await websocket.accept()
        sent: dict[uuid.UUID, int] = {}
        if position is not None:
            message_id, after = position
            sent[message_id] = after
            for raw in await resources.pubsub.read_log(ev.reply_log(message_id)):
                if not await _send(websocket, StreamEvent.decode(raw), sent):
                    return
        sender = asyncio.create_task(_forward(websocket, live, sent))
        receiver = asyncio.create_task(_drain(websocket))
        keeper = asyncio.create_task(_keep_listening(resources, conversation_id))
        guard = StreamGuard(
            resources, principal, conversation_id, lambda: websocket_principal(websocket, resources)
        )
        async with watching(guard) as access:
            try:
                await asyncio.wait({sender, receiver, access}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for task in (sender, receiver, keeper):
                    task.cancel()
            code, reason = _closing(sender, access)
        if websocket.application_state == WebSocketState.CONNECTED:
            with contextlib.suppress(RuntimeError, WebSocketDisconnect):
                await websocket.close(code, reason=reason[:120])


def _closing(sender: asyncio.Task[None], access: asyncio.Task[AccessLost]) -> tuple[int, str]:
    """Access lost: 1008. The channel lost (SubscriptionLost): 1013. Otherwise 1000."""
    if access.done():
        return POLICY_VIOLATION, access.result().message
    if sender.done() and not sender.cancelled() and sender.exception() is not None:
        return TRY_AGAIN_LATER, "Event stream interrupted"
    return 1000, ""


async def _send(websocket: WebSocket, item: StreamEvent, sent: dict[uuid.UUID, int]) -> bool:
    """Send unless already sent (reply events are deduplicated by seq); False once closed."""
    position = item.position
    if position is not None:
        message_id, seq = position
        if seq <= sent.get(message_id, 0):
            return True
        sent[message_id] = seq
    try:
        await websocket.send_text(item.encode())
    except (WebSocketDisconnect, RuntimeError):
        return False
    return True


async def _forward(
    websocket: WebSocket, live: AsyncIterator[str], sent: dict[uuid.UUID, int]
) -> None:
    """Relay the channel; SubscriptionLost propagates, and the socket closes with 1013."""
    async for raw in live:
        item = StreamEvent.decode(raw)
        if not await _send(websocket, item, sent):
            return
        if item.event == "conversation.deleted":
            return


async def _drain(websocket: WebSocket) -> None:
    """Read (and ignore) what the client sends, to notice when it goes away."""
    with contextlib.suppress(WebSocketDisconnect, RuntimeError):
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return


async def _keep_listening(resources: Resources, conversation_id: uuid.UUID) -> None:
    """While someone watches, the conversation's replies keep running."""
    while True:
        await touch_listener(resources, conversation_id)
        await asyncio.sleep(HEARTBEAT_SECONDS)
