"""A test-only executor, registered by the tests (never shipped): it plays the actions listed
in the run's input, so each test states what the run does.

    {"actions": [{"do": "step", "name": "plan", "output": ..., "then": [...]},
                 {"do": "llm", "model": "gpt-4o", "provider": "openai", "tokens": [1000, 500]},
                 {"do": "tool", "name": "grep", "input": ..., "output": ...},
                 {"do": "emit", "type": "delta", "data": {...}},
                 {"do": "sleep", "seconds": 5, "first_attempt_only": true},
                 {"do": "ask", "question": "..."}, {"do": "approve"},
                 {"do": "state", "key": "k", "value": ...},
                 {"do": "rate"},  # one call of the LLM rate-limit group
                 {"do": "fail", "code": "UPSTREAM_ERROR" | None, "message": "..."}],
     "output": ..., "max_steps": n}
"""

from __future__ import annotations

import asyncio
from typing import Any

from orbiter.core.errors import UpstreamError
from orbiter.runs.engine import AwaitApproval, AwaitInput, RunContext

KIND = "task"  # borrowed (every kind has a real executor now); the fixture restores it


async def scripted(ctx: RunContext) -> Any:
    if "max_steps" in ctx.input:
        ctx.max_steps = int(ctx.input["max_steps"])
    await play(ctx, ctx.input.get("actions", []))
    if ctx.resume is not None:
        return {"resumed_with": ctx.resume, "state": ctx.state}
    return ctx.input.get("output", {"ok": True})


async def play(ctx: RunContext, actions: list[dict[str, Any]]) -> None:
    for action in actions:
        await ACTIONS[action["do"]](ctx, action)


async def _step(ctx: RunContext, action: dict[str, Any]) -> None:
    async with ctx.span("step", action.get("name", "step"), input=action.get("input")) as span:
        await ctx.emit("step_started", {"name": span.name})
        await play(ctx, action.get("then", []))
        span.output = action.get("output")
        await ctx.emit("step_finished", {"name": span.name})


async def _llm(ctx: RunContext, action: dict[str, Any]) -> None:
    async with ctx.span(
        "llm", action.get("name", "chat"), input=action.get("input"), model=action.get("model")
    ) as span:
        tokens_in, tokens_out = action.get("tokens", [10, 5])
        span.usage(
            tokens_in,
            tokens_out,
            model=action.get("model"),
            provider=action.get("provider"),
            prices=action.get("prices"),
        )
        span.output = action.get("output", "an answer")


async def _tool(ctx: RunContext, action: dict[str, Any]) -> None:
    async with ctx.span("tool", action.get("name", "tool"), input=action.get("input")) as span:
        await ctx.emit("tool_call", {"name": span.name, "input": action.get("input")})
        span.output = action.get("output")
        await ctx.emit("tool_result", {"name": span.name, "output": span.output})


async def _emit(ctx: RunContext, action: dict[str, Any]) -> None:
    await ctx.emit(action["type"], action.get("data"))


async def _sleep(ctx: RunContext, action: dict[str, Any]) -> None:
    if action.get("first_attempt_only") and ctx.attempts > 1:
        return
    await asyncio.sleep(float(action["seconds"]))


async def _ask(ctx: RunContext, action: dict[str, Any]) -> None:
    if ctx.resume is None:
        raise AwaitInput({"question": action.get("question", "Which one?")})


async def _approve(ctx: RunContext, action: dict[str, Any]) -> None:
    if ctx.resume is None:
        raise AwaitApproval({"action": action.get("action", "deploy")})


async def _state(ctx: RunContext, action: dict[str, Any]) -> None:
    ctx.state[action["key"]] = action.get("value")
    await ctx.save_state()


async def _rate(ctx: RunContext, action: dict[str, Any]) -> None:
    await ctx.count_llm_call()


async def _fail(ctx: RunContext, action: dict[str, Any]) -> None:
    if action.get("code") == "UPSTREAM_ERROR":
        raise UpstreamError(action.get("message", "the model failed"))
    raise RuntimeError(action.get("message", "boom"))


ACTIONS = {
    "step": _step,
    "llm": _llm,
    "tool": _tool,
    "emit": _emit,
    "sleep": _sleep,
    "ask": _ask,
    "approve": _approve,
    "state": _state,
    "rate": _rate,
    "fail": _fail,
}
