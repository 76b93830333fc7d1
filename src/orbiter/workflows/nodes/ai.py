"""AI nodes: `llm_call` (one completion from a configured provider), `prompt_template`
(messages for it), `agent_node` (runs an agent with its tools).

The provider is the run's user's: the node's `provider_id` when that user owns it, else their
default one (`providers.opening.user_provider`, as for agents). A provider that fails fails
the node with `UPSTREAM_ERROR` (so `retry_count` and `on_error` apply); a user without a
provider fails it with the message saying how to add one.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, model_validator

from orbiter.agents.executor import agent_model, agent_options, agent_tools
from orbiter.agents.loop import AgentLoop, ModelTurn
from orbiter.core.db import transaction
from orbiter.core.errors import AppError
from orbiter.llm.base import ChatMessage, ChatOptions, TextDelta, Usage
from orbiter.models import Agent
from orbiter.providers.opening import OpenedProvider, adapter_for, user_provider
from orbiter.runs.engine import AwaitApproval, AwaitInput, RunContext
from orbiter.workflows.nodes.base import NodeCall, NodeConfig, NodeError, NodeType, register
from orbiter.workflows.templates import render_text

ROLES = ("system", "user", "assistant")
_FENCED = re.compile(r"^```[A-Za-z0-9_-]*\s*\n(?P<body>.*?)\n?```$", re.DOTALL)


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

    @model_validator(mode="after")
    def _has_a_message(self) -> LlmCallConfig:
        if self.prompt is None and self.messages is None:
            raise ValueError("llm_call needs a prompt or messages")
        return self


@asynccontextmanager
async def _upstream() -> AsyncIterator[None]:
    """A provider's failure (or a missing provider) as the node's failure, with its code."""
    try:
        yield
    except AppError as exc:
        raise NodeError(exc.message, exc.code) from exc


def _user_id(ctx: RunContext) -> uuid.UUID:
    if ctx.user_id is None:
        raise NodeError("The user who started the run was deleted", "RESOURCE_NOT_FOUND")
    return ctx.user_id


async def run_llm_call(call: NodeCall) -> Any:
    config: LlmCallConfig = call.config
    messages = _chat_messages(config)
    ctx = call.ctx
    async with _upstream():
        async with transaction(ctx.resources.sessionmaker) as db:
            row, model = await user_provider(
                db, user_id=_user_id(ctx), provider_id=config.provider_id, model=config.model
            )
        await ctx.count_llm_call()  # the user's LLM rate-limit group
        opened = OpenedProvider(adapter_for(ctx.resources, row), row, model)
        options = ChatOptions(temperature=config.temperature, max_tokens=config.max_tokens)
        parts: list[str] = []
        async with opened:
            async for event in opened.provider.stream_chat(messages, model=model, options=options):
                if isinstance(event, TextDelta):
                    parts.append(event.text)
                elif isinstance(event, Usage):
                    call.span.usage(
                        event.prompt_tokens,
                        event.completion_tokens,
                        model=model,
                        provider=row.type,
                        prices=row.prices,
                    )
    text = "".join(parts)
    return parse_json(text) if config.response_format == "json" else text


def _chat_messages(config: LlmCallConfig) -> list[ChatMessage]:
    """`messages` (a list, or a prompt_template's output), with `system` first and `prompt`
    last when they are set too."""
    given = config.messages
    if isinstance(given, dict) and "messages" in given:
        given = given["messages"]
    if given is not None and not isinstance(given, list):
        raise NodeError("messages must be a list of {role, content}", "VALIDATION_ERROR")
    messages = [_message(index, item) for index, item in enumerate(given or [])]
    if config.system is not None:
        messages.insert(0, ChatMessage("system", config.system))
    if config.prompt is not None:
        messages.append(ChatMessage("user", config.prompt))
    if not any(m.role == "user" for m in messages):
        raise NodeError("llm_call has no user message (prompt, or one in messages)")
    return messages


def _message(index: int, item: Any) -> ChatMessage:
    role = item.get("role") if isinstance(item, dict) else None
    if role not in ROLES or "content" not in item:
        raise NodeError(
            f"messages[{index}] must be {{role, content}} with role one of {', '.join(ROLES)}",
            "VALIDATION_ERROR",
        )
    content = item["content"]
    return ChatMessage(role, content if isinstance(content, str) else json.dumps(content))


def parse_json(text: str) -> Any:
    """The model's answer as JSON (inside a ``` fence or not)."""
    stripped = text.strip()
    fenced = _FENCED.match(stripped)
    try:
        return json.loads(fenced.group("body") if fenced else stripped)
    except ValueError as exc:
        raise NodeError(
            f"The model's answer is not JSON ({exc}): {stripped[:200]!r}", "INVALID_JSON"
        ) from exc


class PromptTemplateConfig(NodeConfig):
    template: str = Field(
        min_length=1, max_length=100_000, description="Jinja template of the user message"
    )
    system: str | None = Field(default=None, max_length=100_000)


async def run_prompt_template(call: NodeCall) -> Any:
    config: PromptTemplateConfig = call.config
    text = render_text(config.template, call.variables)
    messages = [{"role": "user", "content": text}]
    if config.system is not None:
        messages.insert(
            0, {"role": "system", "content": render_text(config.system, call.variables)}
        )
    return {"messages": messages, "text": text}


class AgentNodeConfig(NodeConfig):
    agent_id: uuid.UUID
    input: str = Field(default="{{ input }}", max_length=100_000, description="The agent's task")


PAUSE_REFUSED = (
    "Agent {name!r} asked {what}: agents asking questions or approvals are not supported "
    "inside workflows yet"
)


@dataclass
class WorkflowAgentLoop(AgentLoop):
    """The agent loop inside a workflow's node: its state is its own, in memory (the run's
    state is the workflow's, and the loop cannot pause there), and its model turns are
    counted against the agent's `max_steps` (the run's steps are the whole workflow's)."""

    step_limit: int = 1
    taken: int = 0
    own_state: dict[str, Any] | None = None

    @property
    def state(self) -> dict[str, Any]:
        if self.own_state is None:
            self.own_state = {}
        return self.own_state

    async def save(self) -> None:
        return None

    async def _model_turn(self) -> ModelTurn:
        self.taken += 1
        if self.taken > self.step_limit:
            raise NodeError(
                f"The agent reached its limit of {self.step_limit} steps", "RUN_LIMIT_EXCEEDED"
            )
        return await super()._model_turn()


async def run_agent_node(call: NodeCall) -> Any:
    config: AgentNodeConfig = call.config
    ctx = call.ctx
    async with _upstream():
        async with transaction(ctx.resources.sessionmaker) as db:
            agent = await db.get(Agent, config.agent_id)
            if agent is None or agent.project_id != ctx.project_id:
                raise NodeError(
                    f"The agent {config.agent_id} was not found in the workflow's project",
                    "RESOURCE_NOT_FOUND",
                )
            row, model = await agent_model(db, agent, _user_id(ctx))
            tools = await agent_tools(db, ctx, agent)
        opened = OpenedProvider(adapter_for(ctx.resources, row), row, model)
        loop = WorkflowAgentLoop(
            ctx,
            opened,
            tools,
            agent_options(agent, tools),
            messages=[ChatMessage("system", agent.instructions), ChatMessage("user", config.input)],
            step_limit=min(
                agent.max_steps or ctx.settings.run_max_steps, ctx.settings.run_max_steps
            ),
        )
        try:
            async with opened:
                answer = await loop.run()
        except AwaitInput as exc:
            raise NodeError(PAUSE_REFUSED.format(name=agent.name, what="a question")) from exc
        except AwaitApproval as exc:
            raise NodeError(PAUSE_REFUSED.format(name=agent.name, what="for an approval")) from exc
    return answer["text"]


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
