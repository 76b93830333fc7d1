"""Outputs: `chat_response` (the reply of a chat-started run), `api_response` (what a webhook
caller or an API client gets back)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, register


class ChatResponseConfig(NodeConfig):
    message: str = Field(default="{{ input }}", max_length=100_000)


async def run_chat_response(call: NodeCall) -> Any:
    raise NotImplementedError


class ApiResponseConfig(NodeConfig):
    status_code: int = Field(default=200, ge=200, le=599)
    body: Any = Field(default="{{ input }}")
    headers: dict[str, str] = Field(default_factory=dict)


async def run_api_response(call: NodeCall) -> Any:
    raise NotImplementedError


register(
    NodeType(
        "chat_response",
        "output",
        "The run's reply in the chat",
        ChatResponseConfig,
        run_chat_response,
        outputs=(),
    )
)
register(
    NodeType(
        "api_response",
        "output",
        "The run's answer to its caller (status, body, headers)",
        ApiResponseConfig,
        run_api_response,
        outputs=(),
    )
)
