"""The OpenAI-style adapter (types openai, openai_compatible and ollama) on the `openai` SDK."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from openai import AsyncOpenAI

from orbiter.core.errors import UpstreamError
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
    ToolSpec,
    Usage,
)
from orbiter.llm.errors import incomplete_stream, upstream_error
from orbiter.llm.sdk import MAX_MODELS, NO_KEY, llm_timeout, quietly_close


def to_openai(messages: list[ChatMessage]) -> list[dict[str, Any]]:
    """Chat Completions messages: an assistant turn carries its `tool_calls`, each result is a
    `tool` message naming its call. A `tool` message that answers no call (the stateless /chat
    endpoint lets a client send one) goes as user text, as the Anthropic adapter sends it."""
    wire: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "assistant" and message.tool_calls:
            wire.append(
                {
                    "role": "assistant",
                    "content": message.content or None,
                    "tool_calls": [
                        {
                            "id": call.id,
                            "type": "function",
                            "function": {"name": call.name, "arguments": call.arguments or "{}"},
                        }
                        for call in message.tool_calls
                    ],
                }
            )
        elif message.role == "tool" and message.tool_call_id:
            wire.append(
                {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
            )
        elif message.role == "tool":
            wire.append({"role": "user", "content": message.content})
        else:
            wire.append({"role": message.role, "content": message.content})
    return wire


def openai_tools(tools: tuple[ToolSpec, ...]) -> list[dict[str, Any]]:
    return [
        {
            "type": "function",
            "function": {
                "name": tool.name,
                "description": tool.description,
                "parameters": tool.parameters,
            },
        }
        for tool in tools
    ]


@dataclass
class _PendingCall:
    id: str = ""
    name: str = ""
    arguments: list[str] = field(default_factory=list)


class OpenAIProvider:
    """Chat Completions streaming and the model list; `ollama_root` lists models via /api/tags."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str | None,
        settings: Settings,
        label: str,
        ollama_root: str | None = None,
    ) -> None:
        self.label = label
        self._max_chars = settings.llm_max_response_chars
        self._ollama_root = ollama_root
        self._http = guarded_client(settings, timeout=llm_timeout(settings))
        self._client = AsyncOpenAI(
            api_key=api_key or NO_KEY,
            base_url=base_url,
            timeout=llm_timeout(settings),
            max_retries=settings.llm_max_retries,
            http_client=self._http,
        )
        # The SDK would otherwise copy OPENAI_ORG_ID / OPENAI_PROJECT_ID from the server's
        # environment into requests to a URL the user chose.
        self._client.organization = None
        self._client.project = None

    def _request(
        self, messages: list[ChatMessage], model: str, options: ChatOptions
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": model,
            "messages": to_openai(messages),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if options.tools:
            body["tools"] = openai_tools(options.tools)
        for name in ("temperature", "top_p", "max_tokens", "stop"):
            value = getattr(options, name)
            if value is not None:
                body[name] = value
        if options.extra:
            body["extra_body"] = dict(options.extra)
        return body

    async def stream_chat(
        self, messages: list[ChatMessage], *, model: str, options: ChatOptions
    ) -> AsyncIterator[LlmEvent]:
        stream = None
        try:
            stream = await self._client.chat.completions.create(
                **self._request(messages, model, options)
            )
            budget = ReplyBudget(self._max_chars)
            finish: str | None = None
            usage: Usage | None = None
            calls: dict[int, _PendingCall] = {}
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = Usage(
                        prompt_tokens=chunk.usage.prompt_tokens or 0,
                        completion_tokens=chunk.usage.completion_tokens or 0,
                    )
                for choice in chunk.choices:
                    if choice.index != 0:
                        continue
                    delta = choice.delta
                    if delta is not None and delta.content:
                        piece, cut_off = budget.take(delta.content)
                        if piece:
                            yield TextDelta(piece)
                        if cut_off:
                            yield Finish("length", truncated=True)
                            return
                    for call in (delta.tool_calls or []) if delta is not None else []:
                        pending = calls.setdefault(call.index, _PendingCall())
                        pending.id = call.id or pending.id
                        if call.function is not None:
                            pending.name = call.function.name or pending.name
                            pending.arguments.append(call.function.arguments or "")
                    if choice.finish_reason:
                        finish = choice.finish_reason
            if finish is None:
                raise incomplete_stream(self.label)
            for index in sorted(calls):
                pending = calls[index]
                yield ToolCall(pending.id, pending.name, "".join(pending.arguments))
            if usage is not None:
                yield usage
            yield Finish(finish)
        except Exception as exc:
            raise upstream_error(exc, label=self.label) from exc
        finally:
            if stream is not None:
                await quietly_close(stream)

    async def list_models(self) -> list[str]:
        try:
            if self._ollama_root is not None:
                return await self._ollama_tags()
            names: list[str] = []
            async for model in await self._client.models.list():
                names.append(model.id)
                if len(names) >= MAX_MODELS:
                    break
            return sorted(names)
        except Exception as exc:
            raise upstream_error(exc, label=self.label) from exc

    async def embed(
        self, texts: list[str], *, model: str, dimensions: int | None = None
    ) -> list[list[float]]:
        """`POST /embeddings`: one vector per text, in the order of `texts`."""
        extra: dict[str, Any] = {} if dimensions is None else {"dimensions": dimensions}
        try:
            answer = await self._client.embeddings.create(
                model=model, input=texts, encoding_format="float", **extra
            )
        except Exception as exc:
            raise upstream_error(exc, label=self.label) from exc
        vectors = sorted(answer.data, key=lambda item: item.index)
        if len(vectors) != len(texts):
            raise UpstreamError(
                f"{self.label} returned {len(vectors)} embeddings for {len(texts)} texts",
                details={"provider": self.label},
            )
        return [list(item.embedding) for item in vectors]

    async def _ollama_tags(self) -> list[str]:
        response = await self._http.get(f"{self._ollama_root}/api/tags")
        if response.status_code != 200:
            raise UpstreamError(
                f"{self.label} answered {response.status_code} to GET /api/tags",
                details={"provider": self.label, "upstream_status": response.status_code},
            )
        models = response.json().get("models", [])
        return sorted(str(m["name"]) for m in models[:MAX_MODELS])

    async def close(self) -> None:
        await self._client.close()
        await self._http.aclose()
