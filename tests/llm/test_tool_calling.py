"""Tool calling through both adapters against the fake APIs: tools offered, parallel calls
parsed, results sent back in each API's shape, and a result for a call never made refused as the
real APIs refuse it (the fakes' other refusals: tests/llm/test_fake_providers.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from orbiter.core.errors import UpstreamError
from orbiter.core.settings import Settings
from orbiter.llm.base import (
    ChatMessage,
    ChatOptions,
    Finish,
    LlmEvent,
    Provider,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from orbiter.llm.factory import create_provider
from tests.fakes.llm_servers import FakeLLM, outage, turn

KINDS = ["openai", "anthropic"]
ADD = ToolSpec(
    name="add",
    description="Add two numbers",
    parameters={
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    },
)
CLOCK = ToolSpec(
    name="clock", description="The time", parameters={"type": "object", "properties": {}}
)


def adapter(kind: str, fake: FakeLLM, settings: Settings) -> tuple[Provider, str]:
    type_, url, model = (
        ("anthropic", fake.anthropic_url, "claude-echo")
        if kind == "anthropic"
        else ("openai_compatible", fake.openai_url, "echo")
    )
    provider = create_provider(
        type_=type_, base_url=url, api_key="sk-test", settings=settings, label="fake"
    )
    return provider, model


async def collect(
    provider: Provider, messages: list[ChatMessage], model: str, tools: tuple[ToolSpec, ...]
) -> list[LlmEvent]:
    return [
        event
        async for event in provider.stream_chat(
            messages, model=model, options=ChatOptions(tools=tools)
        )
    ]


@pytest.mark.parametrize("kind", KINDS)
async def test_parallel_calls_then_their_results_then_the_answer(
    fake_llm: FakeLLM, settings: Settings, kind: str
) -> None:
    fake_llm.queue_turns(
        turn("Let me check.", ("add", {"a": 2, "b": 3}), ("clock", {}), usage=(40, 12)),
        turn("2 + 3 = 5, and it is noon.", usage=(70, 9)),
    )
    provider, model = adapter(kind, fake_llm, settings)
    question = [
        ChatMessage("system", "Use tools."),
        ChatMessage("user", "What is 2 + 3, and what time is it?"),
    ]
    try:
        first = await collect(provider, question, model, (ADD, CLOCK))
        calls = [e for e in first if isinstance(e, ToolCall)]
        assert [(c.name, json.loads(c.arguments)) for c in calls] == [
            ("add", {"a": 2, "b": 3}),
            ("clock", {}),
        ]
        assert len({c.id for c in calls}) == 2
        assert "".join(e.text for e in first if isinstance(e, TextDelta)) == "Let me check."
        assert Usage(40, 12) in first
        assert first[-1] == Finish("tool_calls")

        follow_up = [
            *question,
            ChatMessage("assistant", "Let me check.", tool_calls=tuple(calls)),
            ChatMessage("tool", "5", tool_call_id=calls[0].id),
            ChatMessage("tool", "clock is broken", tool_call_id=calls[1].id, is_error=True),
        ]
        second = await collect(provider, follow_up, model, (ADD, CLOCK))
    finally:
        await provider.close()
    assert "".join(e.text for e in second if isinstance(e, TextDelta)) == (
        "2 + 3 = 5, and it is noon."
    )
    assert second[-2:] == [Usage(70, 9), Finish("stop")]

    first_request, second_request = (r.json for r in fake_llm.completions())
    assert_tools_offered(kind, first_request)
    assert_results_sent(kind, second_request, calls)


def assert_tools_offered(kind: str, body: dict[str, Any]) -> None:
    if kind == "anthropic":
        assert body["tools"][0] == {
            "name": "add",
            "description": "Add two numbers",
            "input_schema": ADD.parameters,
        }
        assert body["system"] == "Use tools."
        return
    assert body["tools"][0] == {
        "type": "function",
        "function": {"name": "add", "description": "Add two numbers", "parameters": ADD.parameters},
    }


def assert_results_sent(kind: str, body: dict[str, Any], calls: list[ToolCall]) -> None:
    messages = body["messages"]
    if kind == "anthropic":
        assistant, results = messages[-2], messages[-1]
        assert assistant == {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": calls[0].id, "name": "add", "input": {"a": 2, "b": 3}},
                {"type": "tool_use", "id": calls[1].id, "name": "clock", "input": {}},
            ],
        }
        assert results == {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": calls[0].id, "content": "5"},
                {
                    "type": "tool_result",
                    "tool_use_id": calls[1].id,
                    "content": "clock is broken",
                    "is_error": True,
                },
            ],
        }
        return
    assistant = messages[-3]
    assert assistant["role"] == "assistant" and assistant["content"] == "Let me check."
    assert [c["id"] for c in assistant["tool_calls"]] == [c.id for c in calls]
    assert assistant["tool_calls"][0]["function"] == {
        "name": "add",
        "arguments": '{"a": 2, "b": 3}',
    }
    assert messages[-2:] == [
        {"role": "tool", "tool_call_id": calls[0].id, "content": "5"},
        {"role": "tool", "tool_call_id": calls[1].id, "content": "clock is broken"},
    ]


@pytest.mark.parametrize("kind", KINDS)
async def test_a_result_for_a_call_never_made_is_refused_like_the_real_api(
    fake_llm: FakeLLM, settings: Settings, kind: str
) -> None:
    provider, model = adapter(kind, fake_llm, settings)
    messages = [
        ChatMessage("user", "Hi"),
        ChatMessage("assistant", "Sure."),
        ChatMessage("tool", "5", tool_call_id="call_b"),
    ]
    try:
        with pytest.raises(UpstreamError) as raised:
            await collect(provider, messages, model, (ADD,))
    finally:
        await provider.close()
    assert "answered 400" in raised.value.message


@pytest.mark.parametrize("kind", KINDS)
async def test_an_outage_fails_every_later_call(
    fake_llm: FakeLLM, settings: Settings, kind: str
) -> None:

    fake_llm.queue_turns(turn("first"), outage())
    provider, model = adapter(kind, fake_llm, settings)
    try:
        first = await collect(provider, [ChatMessage("user", "Hi")], model, ())
        assert "".join(e.text for e in first if isinstance(e, TextDelta)) == "first"
        for _ in range(2):
            with pytest.raises(UpstreamError, match="answered 500"):
                await collect(provider, [ChatMessage("user", "Hi")], model, ())
    finally:
        await provider.close()
