"""The fake providers refuse what the real APIs refuse, so a test passing on them means a
request the real ones would take: Anthropic's required `max_tokens` and alternating turns
from a first user turn, OpenAI's required `model` and `tool_call_id` on tool results."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.fakes.llm_servers import FakeLLM

USER = {"role": "user", "content": "Hi"}
ASSISTANT = {"role": "assistant", "content": "Hello"}


async def post(url: str, body: dict[str, Any]) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers={"Authorization": "Bearer sk-test"})


async def assert_refused(url: str, body: dict[str, Any]) -> None:
    """400 `invalid_request_error`, as both real APIs answer a body they refuse."""
    response = await post(url, body)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    "body",
    [
        {"model": "claude-echo", "messages": [USER]},  # no max_tokens
        {"max_tokens": 10, "messages": [USER]},  # no model
        {"model": "claude-echo", "max_tokens": 0, "messages": [USER]},
        {"model": "claude-echo", "max_tokens": 10, "messages": []},
        {"model": "claude-echo", "max_tokens": 10, "messages": [ASSISTANT, USER]},
        {"model": "claude-echo", "max_tokens": 10, "messages": [USER, USER]},
        {"model": "claude-echo", "max_tokens": 10, "messages": [USER, ASSISTANT, ASSISTANT]},
        {
            "model": "claude-echo",
            "max_tokens": 10,
            "messages": [{"role": "system", "content": "s"}],
        },
        {"model": "claude-echo", "max_tokens": 10, "messages": [{"role": "user", "content": " "}]},
    ],
)
async def test_anthropic_fake_refuses_what_the_messages_api_refuses(
    fake_llm: FakeLLM, body: dict[str, Any]
) -> None:
    await assert_refused(f"{fake_llm.anthropic_url}/v1/messages", body)


async def test_anthropic_fake_takes_a_final_assistant_prefill(fake_llm: FakeLLM) -> None:
    body = {"model": "claude-echo", "max_tokens": 10, "messages": [USER, ASSISTANT]}
    assert (await post(f"{fake_llm.anthropic_url}/v1/messages", body)).status_code == 200


CALL = {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}


@pytest.mark.parametrize(
    "body",
    [
        {"messages": [USER]},  # no model
        {"model": "echo"},
        {"model": "echo", "messages": []},
        {"model": "echo", "messages": [{"role": "robot", "content": "x"}]},
        {"model": "echo", "messages": [{"role": "user"}]},
        {"model": "echo", "messages": [USER, {"role": "tool", "content": "42"}]},
        {
            "model": "echo",
            "messages": [USER, {"role": "tool", "content": "42", "tool_call_id": "call_9"}],
        },
        {"model": "echo", "messages": [USER], "stream_options": {"include_usage": True}},
    ],
)
async def test_openai_fake_refuses_what_chat_completions_refuses(
    fake_llm: FakeLLM, body: dict[str, Any]
) -> None:
    await assert_refused(f"{fake_llm.openai_url}/chat/completions", body)


async def test_openai_fake_takes_a_tool_result_answering_a_call(fake_llm: FakeLLM) -> None:
    messages = [
        USER,
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
        {"role": "tool", "content": "42", "tool_call_id": "call_1"},
    ]
    response = await post(
        f"{fake_llm.openai_url}/chat/completions", {"model": "echo", "messages": messages}
    )
    assert response.status_code == 200, response.text
