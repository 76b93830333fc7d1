"""The Anthropic adapter on the `anthropic` SDK (Messages API, streamed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from anthropic import AsyncAnthropic

from orbiter.core.outbound import guarded_client
from orbiter.core.settings import Settings
from orbiter.llm.base import (
    ChatMessage,
    ChatOptions,
    Finish,
    LlmEvent,
    ReplyBudget,
    TextDelta,
    ToolCall,
    Usage,
)
from orbiter.llm.errors import incomplete_stream, upstream_error
from orbiter.llm.sdk import MAX_MODELS, NO_KEY, llm_timeout, quietly_close

DEFAULT_MAX_TOKENS = 4096  # the Messages API requires one
FINISH_REASONS = {
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "refusal": "content_filter",
}


def to_anthropic(messages: list[ChatMessage]) -> tuple[str | None, list[dict[str, Any]]]:
    """The Messages API's shape: system prompts go to `system`; turns alternate from a first
    user turn (same-role turns merge, assistant turns before the first user turn are left out)
    and have text (blank ones are left out)."""
    system = "\n\n".join(m.content for m in messages if m.role == "system" and m.content) or None
    turns: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system" or not message.content.strip():
            continue
        if not turns and message.role != "user":
            continue
        if turns and turns[-1]["role"] == message.role:
            turns[-1]["content"] += "\n\n" + message.content
        else:
            turns.append({"role": message.role, "content": message.content})
    return system, turns


class AnthropicProvider:
    def __init__(self, *, base_url: str, api_key: str | None, settings: Settings, label: str):
        self.label = label
        self._max_chars = settings.llm_max_response_chars
        self._http = guarded_client(settings, timeout=llm_timeout(settings))
        self._client = AsyncAnthropic(
            api_key=api_key or NO_KEY,  # an explicit key: the SDK never consults the environment
            base_url=base_url,
            timeout=llm_timeout(settings),
            max_retries=settings.llm_max_retries,
            http_client=self._http,
        )

    def _request(
        self, messages: list[ChatMessage], model: str, options: ChatOptions
    ) -> dict[str, Any]:
        system, turns = to_anthropic(messages)
        body: dict[str, Any] = {
            "model": model,
            "messages": turns,
            "max_tokens": options.max_tokens or DEFAULT_MAX_TOKENS,
            "stream": True,
        }
        if system:
            body["system"] = system
        if options.stop:
            body["stop_sequences"] = options.stop
        # Sampling knobs are not named parameters of this SDK version; the API takes them.
        extra = dict(options.extra)
        if options.temperature is not None:
            extra["temperature"] = options.temperature
        if options.top_p is not None:
            extra["top_p"] = options.top_p
        extra.pop("frequency_penalty", None)  # OpenAI-only knobs
        extra.pop("presence_penalty", None)
        extra.pop("seed", None)
        if extra:
            body["extra_body"] = extra
        return body

    async def stream_chat(
        self, messages: list[ChatMessage], *, model: str, options: ChatOptions
    ) -> AsyncIterator[LlmEvent]:
        stream = None
        try:
            stream = await self._client.messages.create(**self._request(messages, model, options))
            budget = ReplyBudget(self._max_chars)
            prompt_tokens = completion_tokens = 0
            stop_reason: str | None = None
            stopped = False
            tools: dict[int, list[str]] = {}
            async for event in stream:
                kind = event.type
                if kind == "message_start":
                    prompt_tokens = event.message.usage.input_tokens or 0
                elif kind == "content_block_start" and event.content_block.type == "tool_use":
                    block = event.content_block
                    tools[event.index] = [block.id, block.name, ""]
                elif kind == "content_block_delta":
                    delta = event.delta
                    if delta.type == "text_delta" and delta.text:
                        piece, cut_off = budget.take(delta.text)
                        if piece:
                            yield TextDelta(piece)
                        if cut_off:
                            yield Finish("length", truncated=True)
                            return
                    elif delta.type == "input_json_delta" and event.index in tools:
                        tools[event.index][2] += delta.partial_json
                elif kind == "content_block_stop" and event.index in tools:
                    call_id, name, arguments = tools.pop(event.index)
                    yield ToolCall(call_id, name, arguments or "{}")
                elif kind == "message_delta":
                    stop_reason = event.delta.stop_reason or stop_reason
                    completion_tokens = event.usage.output_tokens or completion_tokens
                elif kind == "message_stop":
                    stopped = True
            if not stopped:
                raise incomplete_stream(self.label)
            yield Usage(prompt_tokens=prompt_tokens, completion_tokens=completion_tokens)
            yield Finish(FINISH_REASONS.get(stop_reason or "end_turn", stop_reason or "stop"))
        except Exception as exc:
            raise upstream_error(exc, label=self.label) from exc
        finally:
            if stream is not None:
                await quietly_close(stream)

    async def list_models(self) -> list[str]:
        try:
            names: list[str] = []
            async for model in await self._client.models.list(limit=100):
                names.append(model.id)
                if len(names) >= MAX_MODELS:
                    break
            return sorted(names)
        except Exception as exc:
            raise upstream_error(exc, label=self.label) from exc

    async def close(self) -> None:
        await self._client.close()
        await self._http.aclose()
