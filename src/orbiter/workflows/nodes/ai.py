"""AI nodes: `llm_call` (one completion from a configured provider), `prompt_template`
(messages for it), `agent_node` (runs an agent with its tools)."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import Field

from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeType, register


class LlmCallConfig(NodeConfig):
    prompt: str | None = Field(default=None, max_length=100_000, description="The user message")
    system: str | None = Field(default=None, max_length=100_000)
    messages: Any = Field(
        default=None,
        description="Instead of prompt: `[{role, content}]`, e.g. a prompt_template's output",
    )
    provider_id: uuid.UUID | None = Field(
        default=None, description="Default: the user's default provider"
    )
    model: str | None = Field(default=None, max_length=200)
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=200_000)
    response_format: Literal["text", "json"] = "text"


async def run_llm_call(call: NodeCall) -> Any:
    raise NotImplementedError


class PromptTemplateConfig(NodeConfig):
    template: str = Field(
        min_length=1, max_length=100_000, description="Jinja template of the user message"
    )
    system: str | None = Field(default=None, max_length=100_000)


async def run_prompt_template(call: NodeCall) -> Any:
    raise NotImplementedError


class AgentNodeConfig(NodeConfig):
    agent_id: uuid.UUID
    input: str = Field(default="{{ input }}", max_length=100_000, description="The agent's task")


async def run_agent_node(call: NodeCall) -> Any:
    raise NotImplementedError


register(
    NodeType(
        "llm_call",
        "ai",
        "One completion from a configured LLM provider",
        LlmCallConfig,
        run_llm_call,
    )
)
register(
    NodeType(
        "prompt_template",
        "ai",
        "Render messages for an llm_call",
        PromptTemplateConfig,
        run_prompt_template,
        raw_fields=frozenset({"template", "system"}),
    )
)
register(
    NodeType(
        "agent_node", "ai", "Run an agent with its tools on a task", AgentNodeConfig, run_agent_node
    )
)
