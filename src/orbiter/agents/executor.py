"""The executor of `agent` runs (registered with the engine at import).

Each execution (the first, and each after a question was answered) loads the agent (with
the settings a deployment pinned, when the run's input carries them: `agents.pinned`), opens
its model and its tools, restores the loop from the run's state, and runs the loop
(`loop.py`). The model: the agent's provider when the run's user owns it, else the user's
default provider (`providers.opening.choose_provider`); the agent's model goes with the
agent's provider (or with the default one when the agent names none), else the provider's
default model. `ask_user` is offered only to runs in a conversation. A provider that fails
fails the run with `UPSTREAM_ERROR`; a deleted agent or user fails it with a message.
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.agents import wire
from orbiter.agents.loop import AgentLoop
from orbiter.agents.pinned import with_pinned
from orbiter.conversations import agent_turns
from orbiter.core.db import transaction
from orbiter.core.errors import NotFound
from orbiter.llm.base import ChatMessage, ChatOptions, ToolSpec
from orbiter.models import Agent, LlmProvider
from orbiter.providers.opening import OpenedProvider, adapter_for, user_provider
from orbiter.runs.engine import AwaitApproval, AwaitInput, RunContext, register_executor
from orbiter.tools.base import RunnableTool
from orbiter.tools.builtin import knowledge_search
from orbiter.tools.registry import CONVERSATIONAL
from orbiter.tools.service import runnable_tool

KIND = "agent"


async def run_agent(ctx: RunContext) -> dict[str, Any]:
    async with transaction(ctx.resources.sessionmaker) as db:
        agent = await db.get(Agent, ctx.target_id) if ctx.target_id else None
        if agent is None:
            raise NotFound("The agent was deleted")
        agent = with_pinned(agent, ctx.input.get("pinned"))  # a deployment's pinned version
        if ctx.user_id is None:
            raise NotFound("The user who started the run was deleted")
        row, model = await agent_model(db, agent, ctx.user_id)
        tools = await agent_tools(db, ctx, agent)
    opened = OpenedProvider(adapter_for(ctx.resources, row), row, model)
    ctx.max_steps = agent.max_steps or ctx.settings.run_max_steps
    ctx.steps = int(ctx.state.get("steps", 0))
    message_id = ctx.input.get("message_id")
    loop = AgentLoop(
        ctx,
        opened,
        tools,
        agent_options(agent, tools),
        messages=await _messages(ctx, agent, model),
        message_id=uuid.UUID(str(message_id)) if message_id else None,
        parts=list(ctx.state.get("parts") or []),
    )
    try:
        async with opened:
            return await loop.run()
    except (AwaitInput, AwaitApproval):
        raise
    except Exception as exc:
        await loop.failed(exc)
        raise


async def agent_model(
    db: AsyncSession, agent: Agent, user_id: uuid.UUID
) -> tuple[LlmProvider, str]:
    """The agent's provider and model for `user_id` (503 when the user has no provider)."""
    return await user_provider(
        db, user_id=user_id, provider_id=agent.provider_id, model=agent.model
    )


def agent_options(agent: Agent, tools: dict[str, RunnableTool]) -> ChatOptions:
    return ChatOptions(
        temperature=agent.temperature,
        tools=tuple(ToolSpec(t.name, t.description, t.input_schema) for t in tools.values()),
    )


async def agent_tools(db: AsyncSession, ctx: RunContext, agent: Agent) -> dict[str, RunnableTool]:
    """The agent's tools that still exist (a deleted custom tool is simply not offered)."""
    tools: dict[str, RunnableTool] = {}
    for ref in agent.tool_ids:
        tool = await runnable_tool(db, ctx.resources, tool=ref, project_id=agent.project_id)
        if tool is None or (tool.name in CONVERSATIONAL and ctx.conversation_id is None):
            continue
        tools[tool.name] = tool
    if agent.knowledge_base_ids:  # searches the agent's knowledge bases, listed or not
        bases = [uuid.UUID(kb) for kb in agent.knowledge_base_ids]
        tools[knowledge_search.NAME] = knowledge_search.bound_to(bases)
    return tools


async def _messages(ctx: RunContext, agent: Agent, model: str) -> list[ChatMessage]:
    """The loop's messages: from the run's state, or the start of the conversation."""
    saved = ctx.state.get("messages")
    if saved:
        return [wire.load(m) for m in saved]
    message_id = ctx.input.get("message_id")
    if message_id:
        return await agent_turns.history(
            ctx.resources, uuid.UUID(str(message_id)), model=model, system_prompt=agent.instructions
        )
    return [
        ChatMessage("system", agent.instructions),
        ChatMessage("user", str(ctx.input.get("input") or "")),
    ]


register_executor(KIND, run_agent)
