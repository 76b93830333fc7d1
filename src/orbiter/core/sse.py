"""Server-Sent Events framing (https://html.spec.whatwg.org/multipage/server-sent-events.html).

Each event is `id:`, `event:` and one `data:` line of compact JSON (JSON never contains a raw
newline, so one data line is always enough), followed by a blank line.
"""

from __future__ import annotations

import json
from typing import Any

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
