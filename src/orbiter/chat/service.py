"""Stateless LLM calls: a streamed completion (SSE) and morph-chat (an edit of a code fragment)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.chat.morph import EditFailed, apply_reply, system_prompt
from orbiter.chat.schemas import (
    ChatConfig,
    ChatMessageIn,
    ChatRequest,
    FragmentRead,
    MorphChatRequest,
)
from orbiter.core.errors import AppError, UpstreamError
from orbiter.core.sse import format_sse
from orbiter.llm.base import ChatMessage, ChatOptions, Finish, LlmEvent, TextDelta, ToolCall, Usage
from orbiter.providers.opening import OpenedProvider, open_provider
from orbiter.runtime.resources import Resources

logger = logging.getLogger("orbiter.chat")


def chat_options(config: ChatConfig | None) -> ChatOptions:
    if config is None:
        return ChatOptions()
    extra = {
        name: value
        for name in ("top_k", "frequency_penalty", "presence_penalty", "seed")
        if (value := getattr(config, name)) is not None
    }
    return ChatOptions(
        temperature=config.temperature,
        top_p=config.top_p,
        max_tokens=config.max_tokens,
        stop=config.stop,
        extra=extra,
    )


def to_messages(messages: list[ChatMessageIn]) -> list[ChatMessage]:
    return [ChatMessage(role=m.role, content=m.text) for m in messages]


@dataclass
class PreparedStream:
    """A completion whose first event already arrived (so early failures are plain errors)."""

    opened: OpenedProvider
    first: LlmEvent | None
    rest: AsyncIterator[LlmEvent]

    async def close(self) -> None:
        try:
            await self.rest.aclose()  # type: ignore[attr-defined]
        finally:
            await self.opened.close()


async def start_chat(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: ChatRequest
) -> PreparedStream:
    """Open the provider and wait for the first event.

    Raises before any byte is sent: NotFound (provider), ServiceUnavailable (none
    configured), UpstreamError (refused, unreachable, 401, 5xx after retries, ...).
    """
    opened = await open_provider(
        db, resources, user_id=user_id, provider_id=body.provider_id, model=body.model
    )
    events = opened.provider.stream_chat(
        to_messages(body.messages), model=opened.model, options=chat_options(body.config)
    )
    try:
        first: LlmEvent | None = await anext(events)
    except StopAsyncIteration:
        first = None
    except BaseException:
        await PreparedStream(opened, None, events).close()
        raise
    return PreparedStream(opened, first, events)


async def _all(prepared: PreparedStream) -> AsyncIterator[LlmEvent]:
    if prepared.first is not None:
        yield prepared.first
    async for event in prepared.rest:
        yield event


async def sse_stream(prepared: PreparedStream) -> AsyncIterator[bytes]:
    """The completion as SSE: `delta`, `tool_call`, then `done`, or `error` on failure."""
    sequence = 0
    usage: Usage | None = None

    def event(name: str, data: dict[str, Any]) -> bytes:
        nonlocal sequence
        sequence += 1
        return format_sse(name, data, id=str(sequence))

    try:
        async for item in _all(prepared):
            if isinstance(item, TextDelta):
                yield event("delta", {"text": item.text})
            elif isinstance(item, ToolCall):
                yield event(
                    "tool_call", {"id": item.id, "name": item.name, "arguments": item.arguments}
                )
            elif isinstance(item, Usage):
                usage = item
            elif isinstance(item, Finish):
                yield event("done", _done(prepared.opened, item, usage))
                return
        raise UpstreamError("The LLM provider's stream ended without finishing")
    except AppError as exc:
        yield event("error", {"code": exc.code, "message": exc.message})
    except Exception:
        logger.exception("chat stream failed")
        yield event("error", {"code": "INTERNAL_ERROR", "message": "Internal server error"})
    finally:
        await prepared.close()


def _done(opened: OpenedProvider, finish: Finish, usage: Usage | None) -> dict[str, Any]:
    return {
        "finish_reason": finish.reason,
        "truncated": finish.truncated,
        "usage": None
        if usage is None
        else {
            "prompt_tokens": usage.prompt_tokens,
            "completion_tokens": usage.completion_tokens,
            "total_tokens": usage.prompt_tokens + usage.completion_tokens,
        },
        "model": opened.model,
        "provider_id": str(opened.row.id),
    }


async def complete_text(
    opened: OpenedProvider, messages: list[ChatMessage], options: ChatOptions
) -> str:
    """The whole reply as text; a cut-off reply is an UpstreamError."""
    parts: list[str] = []
    async for item in opened.provider.stream_chat(messages, model=opened.model, options=options):
        if isinstance(item, TextDelta):
            parts.append(item.text)
        elif isinstance(item, Finish) and item.truncated:
            raise UpstreamError("The model's reply was too long and was cut off")
        elif isinstance(item, Finish) and item.reason == "length":
            raise UpstreamError(
                "The model's reply hit its max_tokens limit before the edit was complete"
            )
    return "".join(parts)


async def morph_chat(
    db: AsyncSession, resources: Resources, *, user_id: uuid.UUID, body: MorphChatRequest
) -> FragmentRead:
    """Ask the model for search/replace edits of `current_fragment.code` and apply them."""
    fragment = body.current_fragment
    async with await open_provider(
        db, resources, user_id=user_id, provider_id=body.provider_id, model=body.model
    ) as opened:
        messages = [
            ChatMessage("system", system_prompt(fragment.code, fragment.file_path)),
            *to_messages(body.messages),
        ]
        reply = await complete_text(opened, messages, chat_options(body.config))
    try:
        code = apply_reply(fragment.code, reply)
    except EditFailed as exc:
        raise EditFailed(exc.message, details={"reply_excerpt": reply[:2000]}) from exc
    return FragmentRead(**{**fragment.model_dump(), "code": code})
