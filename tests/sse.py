"""Server-Sent Events as the tests read them: a whole body, or a response as it streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: Any  # the JSON of the `data` lines
    id: str | None


def _event(fields: dict[str, list[str]]) -> SseEvent | None:
    if "data" not in fields:
        return None
    return SseEvent(
        fields.get("event", ["message"])[-1],
        json.loads("\n".join(fields["data"])),
        fields.get("id", [None])[-1],
    )


def _add_field(fields: dict[str, list[str]], line: str) -> None:
    if line and not line.startswith(":"):  # a comment (keep-alive)
        name, _, value = line.partition(":")
        fields.setdefault(name, []).append(value.removeprefix(" "))


def parse_sse(text: str) -> list[SseEvent]:
    """Every event of a whole `text/event-stream` body."""
    events: list[SseEvent] = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        fields: dict[str, list[str]] = {}
        for line in block.split("\n"):
            _add_field(fields, line)
        if (event := _event(fields)) is not None:
            events.append(event)
    return events


async def sse_events(response: httpx.Response) -> AsyncIterator[SseEvent]:
    """The events of a streaming response, each as soon as its blank line arrives."""
    fields: dict[str, list[str]] = {}
    async for line in response.aiter_lines():
        if line:
            _add_field(fields, line)
            continue
        if (event := _event(fields)) is not None:
            yield event
        fields = {}
