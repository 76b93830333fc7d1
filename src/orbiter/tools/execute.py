"""Running one tool call: validate the input, run it with its time limit, check the output.

Every way a call can go wrong becomes a `ToolResult` with an `error` (input that does not
match the schema, arguments that are not JSON, the tool failing, raising, timing out, or
returning something that is not JSON): an agent's model sees that error and carries on.
The engine's control flow (`AwaitInput` from a tool asking the user, a cancel) passes through.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from orbiter.runs.engine import AwaitApproval, AwaitInput, RunCancelled
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed, json_output
from orbiter.tools.schema_check import input_problems

logger = logging.getLogger("orbiter.tools")


@dataclass(frozen=True)
class ToolResult:
    output: Any
    error: str | None
    duration_ms: int
    error_code: str = "BAD_REQUEST"  # see ToolFailed.code

    @property
    def ok(self) -> bool:
        return self.error is None

    def for_model(self) -> str:
        """What the model reads: the output as JSON, or the error."""
        if self.error is not None:
            return f"Error: {self.error}"
        return self.output if isinstance(self.output, str) else json.dumps(self.output)


def parse_arguments(arguments: str) -> dict[str, Any] | str:
    """The model's JSON arguments as an object, or why they are not one."""
    try:
        parsed = json.loads(arguments or "{}")
    except ValueError as exc:
        return f"The arguments are not valid JSON: {exc}"
    if not isinstance(parsed, dict):
        return "The arguments must be a JSON object"
    return parsed


def input_error(tool: RunnableTool, arguments: dict[str, Any]) -> str | None:
    problems = input_problems(tool.input_schema, arguments)
    if not problems:
        return None
    listed = "; ".join(f"{p['field']}: {p['message']}" for p in problems)
    return f"The input does not match the tool's input_schema: {listed}"


async def run_tool(
    tool: RunnableTool, context: ToolContext, arguments: dict[str, Any]
) -> ToolResult:
    """Run `tool` on already validated `arguments` within its time limit."""
    started = time.perf_counter()
    output: Any = None
    error: str | None = None
    code = "BAD_REQUEST"
    try:
        async with asyncio.timeout(tool.timeout_seconds):
            output = json_output(await tool.run(context, arguments))
    except ToolFailed as exc:
        error, code = exc.message, exc.code
    except TimeoutError:
        error = f"{tool.name} did not finish within {tool.timeout_seconds:g} s"
        code = "UPSTREAM_ERROR" if not tool.builtin else "INTERNAL_ERROR"
    except (AwaitInput, AwaitApproval, RunCancelled):
        raise  # the engine's control flow, not failures
    except Exception as exc:
        logger.exception("tool %s failed unexpectedly", tool.name)
        error = f"{tool.name} failed unexpectedly ({type(exc).__name__})"
        code = "INTERNAL_ERROR"
    elapsed = round((time.perf_counter() - started) * 1000)
    if error is not None:
        return ToolResult(output=None, error=error, duration_ms=elapsed, error_code=code)
    return ToolResult(output=output, error=None, duration_ms=elapsed)


async def call_tool(
    tool: RunnableTool, context: ToolContext, arguments: dict[str, Any] | str
) -> ToolResult:
    """A model's call: arguments parsed (when text) and validated, then `run_tool`."""
    parsed = parse_arguments(arguments) if isinstance(arguments, str) else arguments
    if isinstance(parsed, str):
        return ToolResult(output=None, error=parsed, duration_ms=0)
    problem = input_error(tool, parsed)
    if problem is not None:
        return ToolResult(output=None, error=problem, duration_ms=0)
    return await run_tool(tool, context, parsed)
