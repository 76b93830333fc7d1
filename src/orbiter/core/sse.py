"""Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).

Each event is `id:`, `event:` and one `data:` line of compact JSON (JSON never contains a raw
newline, so one data line is always enough), followed by a blank line.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from orbiter.core.errors import BadRequest

SSE_MEDIA_TYPE = "text/event-stream"
# Proxies (nginx) must not buffer a stream, and nobody may cache it.
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


def _field(value: str) -> str:
    # A field value cannot span lines; CR/LF in an id or event name would forge events.
    return value.replace("\r", " ").replace("\n", " ")


def format_sse(event: str, data: Any, id: str | None = None) -> bytes:
    """One event: `format_sse("delta", {"text": "Hi"}, id="1")`."""
    lines = []
    if id is not None:
        lines.append(f"id: {_field(id)}")
    lines.append(f"event: {_field(event)}")
    lines.append("data: " + json.dumps(data, separators=(",", ":"), ensure_ascii=False))
    return ("\n".join(lines) + "\n\n").encode()


def format_comment(text: str = "") -> bytes:
    """A comment line (`: keep-alive`), ignored by clients; keeps idle connections open."""
    return f": {_field(text)}\n\n".encode()


def parse_event_id(value: str, stream: str) -> tuple[uuid.UUID, int]:
    """`<stream id>:<seq>` as sent in `id:` fields (`stream` names the id, e.g. "run id");
    anything else is a 400."""
    stream_part, _, seq_part = value.strip().partition(":")
    try:
        seq = int(seq_part)
        if seq < 0:
            raise ValueError("negative")
        return uuid.UUID(stream_part), seq
    except ValueError as exc:
        raise BadRequest(
            f"Invalid event id; expected '<{stream}>:<sequence>' as sent in the stream",
            details={"field": "Last-Event-ID"},
        ) from exc
