"""Ask the user's LLM provider for a JSON answer and read it (502 when the reply is not one)."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import UpstreamError
from orbiter.llm.base import ChatMessage, ChatOptions, Finish, TextDelta, Usage
from orbiter.providers.opening import open_provider
from orbiter.runs.llm_calls import record_llm_call
from orbiter.runtime.resources import Resources

MAX_REPLY_TOKENS = 2000
_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


async def ask_json(
    db: AsyncSession,
    resources: Resources,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    purpose: str,
    system: str,
    prompt: str,
    key: str,
) -> list[Any]:
    """The list under `key` in the JSON object the caller's default provider answers to
    `system` + `prompt` (the call counted in the project's costs as `purpose`). No provider:
    503 saying how to add one; a provider failure, or a reply that is not such an object: 502."""
    messages = [ChatMessage("system", system), ChatMessage("user", prompt)]
    options = ChatOptions(temperature=0.2, max_tokens=MAX_REPLY_TOKENS)
    parts: list[str] = []
    usage: Usage | None = None
    async with await open_provider(db, resources, user_id=user_id) as opened:
        stream = opened.provider.stream_chat(messages, model=opened.model, options=options)
        async for event in stream:
            if isinstance(event, TextDelta):
                parts.append(event.text)
            elif isinstance(event, Usage):
                usage = event
            elif isinstance(event, Finish) and (event.truncated or event.reason == "length"):
                raise UpstreamError("The model's reply was cut off before it was complete")
        if usage is not None:
            await record_llm_call(
                db,
                project_id=project_id,
                user_id=user_id,
                purpose=purpose,
                provider=opened.row,
                model=opened.model,
                usage=usage,
            )
    return parse_list("".join(parts), key)


def parse_list(reply: str, key: str) -> list[Any]:
    """The list under `key` of the JSON object in `reply` (bare, or in a ```json fence)."""
    fenced = _FENCE.search(reply)
    text = (fenced.group(1) if fenced else reply).strip()
    start, end = text.find("{"), text.rfind("}")
    try:
        value = json.loads(text[start : end + 1]) if start >= 0 and end > start else None
    except json.JSONDecodeError:
        value = None
    if not isinstance(value, dict) or not isinstance(value.get(key), list):
        raise UpstreamError(
            f'The model did not answer with the JSON object asked for ({{"{key}": [...]}})',
            details={"reply_excerpt": reply[:500]},
        )
    items: list[Any] = value[key]
    return items


def text_field(item: dict[str, Any], name: str, limit: int) -> str:
    """A string member of the model's answer, trimmed and cut to `limit` characters."""
    value = item.get(name)
    return value.strip().replace("\x00", "")[:limit] if isinstance(value, str) else ""
