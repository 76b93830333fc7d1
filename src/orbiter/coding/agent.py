"""`run_coding_agent`: the agent loop (agents.loop) on a sandbox's tools, inside a run."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

from orbiter.agents.loop import AgentLoop
from orbiter.coding.tools import workspace_tools
from orbiter.coding.workspace import SandboxWorkspace
from orbiter.core.db import transaction
from orbiter.core.errors import NotFound
from orbiter.llm.base import ChatMessage, ChatOptions, ToolSpec
from orbiter.providers.opening import OpenedProvider, adapter_for, user_provider
from orbiter.runs.engine import RunContext
from orbiter.tools.base import RunnableTool, ToolContext

SYSTEM_PROMPT = (
    "You are a careful software engineer working in a git repository checked out at the "
    "current directory of a sandbox (no network). Use the tools to look at the code, change "
    "files and run commands (tests, linters). Make the smallest change that does what the "
    "user asks, check it, then answer with a short summary of what you changed. Do not "
    "commit: the changes are committed for you."
)
LOOP_KEYS = ("messages", "sent", "parts", "steps", "pending")

OnTool = Callable[[str, dict[str, Any]], Awaitable[None]]


@dataclasses.dataclass(frozen=True)
class CodingResult:
    text: str  # the agent's final answer
    steps: int
    provider: str  # the provider's name
    model: str


async def run_coding_agent(
    ctx: RunContext,
    workspace: SandboxWorkspace,
    *,
    prompt: str,
    provider_id: UUID | None = None,
    model: str | None = None,
    system: str = SYSTEM_PROMPT,
    max_steps: int | None = None,
    on_tool: OnTool | None = None,
) -> CodingResult:
    """Run the coding agent on `prompt` in `workspace` until it answers; its turns and tool
    calls are spans of `ctx`'s run. Raises what the loop raises (a cancel, a run limit, a
    provider's failure as an AppError)."""
    if ctx.user_id is None:
        raise NotFound("The user who started the run was deleted")
    async with transaction(ctx.resources.sessionmaker) as db:
        row, chosen = await user_provider(
            db, user_id=ctx.user_id, provider_id=provider_id, model=model
        )
    tools = workspace_tools(workspace, command_seconds=ctx.settings.sandbox_command_seconds)
    if on_tool is not None:
        tools = {name: _announced(tool, on_tool) for name, tool in tools.items()}
    for key in LOOP_KEYS:  # a fresh conversation each time (the files may be new too)
        ctx.state.pop(key, None)
    ctx.max_steps = ctx.steps + (max_steps or ctx.settings.run_max_steps)
    opened = OpenedProvider(adapter_for(ctx.resources, row), row, chosen)
    loop = AgentLoop(
        ctx,
        opened,
        tools,
        ChatOptions(
            tools=tuple(ToolSpec(t.name, t.description, t.input_schema) for t in tools.values())
        ),
        messages=[ChatMessage("system", system), ChatMessage("user", prompt)],
    )
    started = ctx.steps
    async with opened:
        output = await loop.run()
    return CodingResult(str(output.get("text") or ""), ctx.steps - started, row.name, chosen)


def _announced(tool: RunnableTool, on_tool: OnTool) -> RunnableTool:
    async def run(context: ToolContext, arguments: dict[str, Any]) -> Any:
        await on_tool(tool.name, arguments)
        return await tool.run(context, arguments)

    return dataclasses.replace(tool, run=run)
