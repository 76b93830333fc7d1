"""One-shot calls to the caller's LLM provider for the sync, drift and snapshot routes: the
`combined` proposal of a conflict, the drift analysis' explanation, a snapshot's summary.

These calls are optional help: `configured_provider` is None when the caller has no provider
(the routes then answer without the LLM), and a failing call raises `AppError` for the caller
to turn into a note. `LlmUse` is what the response says about the calls made (provider, model,
tokens, cost priced like a chat reply's); each call is also recorded for the project's costs
(runs/llm_calls.py).
"""

from __future__ import annotations

import difflib
import uuid
from dataclasses import dataclass

from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.core.errors import ServiceUnavailable, UpstreamError
from orbiter.llm.base import ChatMessage, ChatOptions, Finish, TextDelta, Usage
from orbiter.models import LlmProvider
from orbiter.providers.opening import OpenedProvider, adapter_for, choose_provider, default_model
from orbiter.runs import prices
from orbiter.runs.llm_calls import record_llm_call
from orbiter.runtime.resources import Resources

MAX_DIFF_CHARS = 8000


class LlmUse(BaseModel):
    """The LLM calls a response's content came from."""

    provider_id: uuid.UUID
    provider: str = Field(description="The provider's name")
    provider_type: str
    model: str
    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost: float | None = Field(None, description="USD, null when the model has no price")

    def add(self, row: LlmProvider, usage: Usage | None) -> None:
        self.calls += 1
        if usage is None:
            return
        self.prompt_tokens += usage.prompt_tokens
        self.completion_tokens += usage.completion_tokens
        spent = prices.cost(
            row.type, self.model, usage.prompt_tokens, usage.completion_tokens, row.prices
        )
        if spent is not None:
            self.cost = (self.cost or 0.0) + spent


@dataclass(frozen=True)
class Asker:
    """Who asks, for what: whose costs a call counts in."""

    db: AsyncSession
    user_id: uuid.UUID
    project_id: uuid.UUID
    purpose: str  # sync, drift, snapshot


@dataclass
class Assistant:
    """The caller's provider, ready for one-shot questions; usage adds up in `use`."""

    resources: Resources
    row: LlmProvider
    use: LlmUse
    asker: Asker

    async def ask(self, system: str, prompt: str, *, max_tokens: int) -> str:
        """The model's whole reply; UpstreamError when the call fails or the reply is cut."""
        messages = [ChatMessage("system", system), ChatMessage("user", prompt)]
        options = ChatOptions(temperature=0.2, max_tokens=max_tokens)
        parts: list[str] = []
        usage: Usage | None = None
        model = self.use.model
        opened = OpenedProvider(adapter_for(self.resources, self.row), self.row, model)
        try:
            async with opened as llm:
                stream = llm.provider.stream_chat(messages, model=model, options=options)
                async for event in stream:
                    if isinstance(event, TextDelta):
                        parts.append(event.text)
                    elif isinstance(event, Usage):
                        usage = event
                    elif isinstance(event, Finish) and (
                        event.truncated or event.reason == "length"
                    ):
                        raise UpstreamError("The model's reply was cut off before it was complete")
        finally:
            self.use.add(self.row, usage)
            if usage is not None:
                await self._record(usage)
        return "".join(parts)

    async def _record(self, usage: Usage) -> None:
        asker = self.asker
        await record_llm_call(
            asker.db,
            project_id=asker.project_id,
            user_id=asker.user_id,
            purpose=asker.purpose,
            provider=self.row,
            model=self.use.model,
            usage=usage,
        )


async def configured_provider(resources: Resources, asker: Asker) -> Assistant | None:
    """The caller's default provider (else their oldest) with its default model; None when
    they have none."""
    try:
        row = await choose_provider(asker.db, user_id=asker.user_id)
    except ServiceUnavailable:
        return None
    model = default_model(row)
    use = LlmUse(provider_id=row.id, provider=row.name, provider_type=row.type, model=model)
    return Assistant(resources, row, use, asker)


def unified_diff(before: str, after: str, *, old: str, new: str) -> str:
    """A unified diff of two texts, cut at MAX_DIFF_CHARS."""
    lines = difflib.unified_diff(
        before.splitlines(keepends=True), after.splitlines(keepends=True), old, new
    )
    text = "".join(line if line.endswith("\n") else line + "\n" for line in lines)
    return text if len(text) <= MAX_DIFF_CHARS else text[:MAX_DIFF_CHARS] + "… (cut)\n"
