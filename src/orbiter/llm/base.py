"""The provider seam: a chat completion streamed as normalised events, and a model list.

Adapters (OpenAI-compatible, Anthropic) translate their SDK's stream into these events and
raise `orbiter.core.errors.UpstreamError` (502) with the provider's message on any failure,
before or during the stream.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True)
class ChatOptions:
    temperature: float | None = None
    top_p: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TextDelta:
    text: str


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text, as the model produced it


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class Finish:
    reason: str  # "stop", "length", "tool_calls", "content_filter", ...
    # True when the reply was cut at `llm_max_response_chars` (reason is then "length").
    truncated: bool = False


LlmEvent = TextDelta | ToolCall | Usage | Finish


class ReplyBudget:
    """The cap on a reply's length (`llm_max_response_chars`), shared by every adapter."""

    def __init__(self, max_chars: int) -> None:
        self._room = max_chars

    def take(self, text: str) -> tuple[str, bool]:
        """The part of `text` to send, and whether the reply must end there, cut off."""
        if len(text) >= self._room:
            piece, self._room = text[: max(self._room, 0)], 0
            return piece, True
        self._room -= len(text)
        return text, False


class Provider(Protocol):
    def stream_chat(
        self, messages: list[ChatMessage], *, model: str, options: ChatOptions
    ) -> AsyncIterator[LlmEvent]:
        """Yield the completion's events; the last ones are `Usage` (when known) and `Finish`."""
        ...

    async def list_models(self) -> list[str]: ...

    async def close(self) -> None: ...
