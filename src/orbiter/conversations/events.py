"""The live events of a conversation, as published on its channel (every replica sees them).

Wire form (WebSocket text frames, and the pub/sub payload): `{"event", "id", "data"}`.
Events of an assistant reply carry `id = "<assistant message id>:<seq>"` (seq from 1, in
order); they are also kept in the reply's bounded log so a client can resume after a drop.

| event | data |
|---|---|
| `message.created` | `{message}` (the user message, then the assistant placeholder) |
| `delta` | `{message_id, text}` |
| `tool_call` | `{message_id, id, name, arguments}` |
| `done` | `{message}` the final assistant message (`complete`, or `incomplete` when cut) |
| `error` | `{message_id, error: {code, message}, message}` |
| `conversation.updated` | `{conversation}` (title changed, moved to another workspace) |
| `conversation.cleared` | `{conversation_id, cleared}` |
| `conversation.deleted` | `{conversation_id}` |
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from orbiter.core import sse
from orbiter.core.pubsub import PubSub

TERMINAL = frozenset({"done", "error"})


def channel(conversation_id: uuid.UUID) -> str:
    return f"conversation:{conversation_id}"


def reply_log(message_id: uuid.UUID) -> str:
    return f"reply-log:{message_id}"


@dataclass(frozen=True)
class StreamEvent:
    event: str
    data: dict[str, Any] = field(default_factory=dict)
    id: str | None = None

    def encode(self) -> str:
        return json.dumps(
            {"event": self.event, "id": self.id, "data": self.data}, separators=(",", ":")
        )

    @classmethod
    def decode(cls, text: str) -> StreamEvent:
        raw = json.loads(text)
        return cls(event=raw["event"], data=raw.get("data") or {}, id=raw.get("id"))

    @property
    def position(self) -> tuple[uuid.UUID, int] | None:
        """(assistant message id, seq) for reply events; None for conversation events."""
        return parse_event_id(self.id) if self.id else None

    @property
    def terminal(self) -> bool:
        return self.event in TERMINAL


def event_id(message_id: uuid.UUID, seq: int) -> str:
    return f"{message_id}:{seq}"


def parse_event_id(value: str) -> tuple[uuid.UUID, int]:
    """`<message id>:<seq>` as sent in `id:` fields; anything else is a 400."""
    return sse.parse_event_id(value, "message id")


async def publish(
    pubsub: PubSub, conversation_id: uuid.UUID, event: str, data: dict[str, Any]
) -> None:
    """A conversation-level event (not part of a reply, so not logged for replay)."""
    await pubsub.publish(channel(conversation_id), StreamEvent(event, data).encode())
