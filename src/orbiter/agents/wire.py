"""The agent loop's messages as JSON, to keep them in the run's state between executions."""

from __future__ import annotations

from typing import Any

from orbiter.llm.base import ChatMessage, ToolCall


def dump(message: ChatMessage) -> dict[str, Any]:
    data: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.tool_calls:
        data["tool_calls"] = [call_dump(call) for call in message.tool_calls]
    if message.tool_call_id is not None:
        data["tool_call_id"] = message.tool_call_id
    if message.is_error:
        data["is_error"] = True
    return data


def load(data: dict[str, Any]) -> ChatMessage:
    return ChatMessage(
        role=data["role"],
        content=str(data.get("content") or ""),
        tool_calls=tuple(
            ToolCall(str(c["id"]), str(c["name"]), str(c["arguments"]))
            for c in data.get("tool_calls") or []
        ),
        tool_call_id=data.get("tool_call_id"),
        is_error=bool(data.get("is_error", False)),
    )


def call_dump(call: ToolCall) -> dict[str, str]:
    return {"id": call.id, "name": call.name, "arguments": call.arguments}
