"""What the model sees: the system prompt, then as many recent turns as its context holds.

The budget is an estimate (about 4 characters per token), so no tokenizer is needed: the
model's context window minus room for the reply, newest turns kept, oldest dropped. Failed
(`error`) and empty messages are left out. The conversation's title comes from its first user
message (collapsed whitespace, cut at a word boundary): no extra model call.
"""

from __future__ import annotations

from collections.abc import Sequence

from orbiter.llm.base import ChatMessage
from orbiter.models import Message

SYSTEM_PROMPT = (
    "You are Orbiter's assistant, helping a software developer with their project. "
    "Answer precisely and concisely; use Markdown code blocks for code."
)
CHARS_PER_TOKEN = 4
DEFAULT_CONTEXT_TOKENS = 32_000
REPLY_RESERVE_TOKENS = 4_000
# Known context windows by model-name prefix (tokens); others get the default.
CONTEXT_TOKENS = {
    "gpt-4o": 128_000,
    "gpt-4.1": 1_000_000,
    "gpt-4-turbo": 128_000,
    "o1": 128_000,
    "o3": 200_000,
    "o4": 200_000,
    "claude": 200_000,
    "gpt-3.5": 16_000,
}
HISTORY_ROWS = 500  # never load more than this many past messages
TITLE_CHARS = 60


def context_chars(model: str) -> int:
    tokens = next(
        (size for prefix, size in CONTEXT_TOKENS.items() if model.startswith(prefix)),
        DEFAULT_CONTEXT_TOKENS,
    )
    return (tokens - REPLY_RESERVE_TOKENS) * CHARS_PER_TOKEN


def build_history(
    past: Sequence[Message], *, model: str, system_prompt: str = SYSTEM_PROMPT
) -> list[ChatMessage]:
    """`past` oldest first, ending with the new user message, which is always kept."""
    budget = context_chars(model) - len(system_prompt)
    kept: list[ChatMessage] = []
    for message in reversed(past):
        if message.role not in ("user", "assistant") or message.status == "error":
            continue
        if not message.content:
            continue
        if kept and len(message.content) > budget:
            break
        kept.append(ChatMessage(role=message.role, content=message.content))  # type: ignore[arg-type]
        budget -= len(message.content)
    kept.reverse()
    # Providers expect a conversation to open with a user turn.
    while kept and kept[0].role != "user":
        kept.pop(0)
    return [ChatMessage(role="system", content=system_prompt), *kept]


def title_from(content: str) -> str:
    text = " ".join(content.split())
    if len(text) <= TITLE_CHARS:
        return text
    cut = text[:TITLE_CHARS].rsplit(" ", 1)[0] or text[:TITLE_CHARS]
    return cut.rstrip(" ,.;:") + "…"
