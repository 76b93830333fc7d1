"""Triggers: where a run starts. Each outputs the run's inputs (a webhook: the request's JSON
body; a schedule: its configured inputs; a chat: `{message}`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeError, NodeType, register


class ManualConfig(NodeConfig):
    input_schema: dict[str, Any] | None = Field(
        default=None, description="A JSON Schema the run's inputs must satisfy (422 otherwise)"
    )


class ChatInputConfig(NodeConfig):
    pass


class WebhookConfig(NodeConfig):
    pass


class ScheduleConfig(NodeConfig):
    cron: str = Field(min_length=9, max_length=200, description="Five-field cron expression")
    timezone: str = Field(default="UTC", max_length=64, description="IANA time zone")
    inputs: dict[str, Any] = Field(default_factory=dict, description="The inputs of each run")


async def run_trigger(call: NodeCall) -> Any:
    """The run's inputs, as the executor hands them over."""
    return call.input


async def run_chat_input(call: NodeCall) -> dict[str, str]:
    inputs = call.input if isinstance(call.input, dict) else {}
    message = inputs.get("message")
    if not isinstance(message, str):
        raise NodeError(
            'A chat-started workflow needs a "message" (text) in its inputs', "BAD_INPUT"
        )
    return {"message": message}


register(
    NodeType(
        "manual",
        "trigger",
        "Started by a person or a client (POST /workflows/{id}/run)",
        ManualConfig,
        run_trigger,
        inputs=(),
    )
)
register(
    NodeType(
        "chat_input",
        "trigger",
        "Started by a chat message: outputs `{message}` (the `message` input, required)",
        ChatInputConfig,
        run_chat_input,
        inputs=(),
    )
)
register(
    NodeType(
        "webhook",
        "trigger",
        "Started by a POST to the workflow's webhook URL; outputs the JSON body",
        WebhookConfig,
        run_trigger,
        inputs=(),
    )
)
register(
    NodeType(
        "schedule",
        "trigger",
        "Started by the scheduler at the times of a cron expression in a time zone",
        ScheduleConfig,
        run_trigger,
        inputs=(),
    )
)
