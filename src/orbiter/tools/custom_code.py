"""Custom tools of type `code`: Python saved with the tool, run in a fresh sandbox per call.

Stored `config`: `{code, function, timeout_seconds}`. The code must compile and define the
function at its top level (checked at save: 422 naming the line of a syntax error). A call
runs `function(**input)` (the input validated against the tool's input_schema first) in a
sandbox of its own (`orbiter.sandboxes.oneshot`) and the function's return value, as JSON,
is the tool's output. An exception, a result that is not JSON, or a limit (the wall clock is
`timeout_seconds`, at most the operator's command limit) fails the call with a message
saying which; a host without sandboxes fails it with SERVICE_UNAVAILABLE.
"""

from __future__ import annotations

import ast
from typing import Any

from pydantic import Field, ValidationError

from orbiter.core.errors import ValidationFailed
from orbiter.core.schemas import RequestModel
from orbiter.models import Tool
from orbiter.sandboxes.oneshot import SandboxUnavailable, call_function
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed
from orbiter.tools.custom_http import as_runnable, config_problems

MAX_TRACEBACK_CHARS = 4000
STARTUP_SECONDS = 30.0  # beyond the code's wall clock: the sandbox's start and clean-up


class CodeToolConfig(RequestModel):
    code: str = Field(min_length=1, max_length=100_000)
    function: str = Field(default="main", pattern=r"^[A-Za-z_][A-Za-z0-9_]{0,99}$")
    timeout_seconds: float = Field(default=30.0, ge=1, le=600)


def parse_config(raw: dict[str, Any]) -> CodeToolConfig:
    """The code configuration, or 422 naming the field: the line of a syntax error, or the
    function the code does not define."""
    try:
        config = CodeToolConfig.model_validate(raw)
    except ValidationError as exc:
        raise ValidationFailed(
            "Invalid code tool configuration", details={"fields": config_problems(exc)}
        ) from exc
    defined = _top_level_functions(_parsed(config.code))
    if config.function not in defined:
        raise ValidationFailed.for_field(
            "config.function",
            f"The code defines no top-level function {config.function!r}"
            + (f" (it defines {', '.join(sorted(defined))})" if defined else ""),
        )
    return config


def _parsed(code: str) -> ast.Module:
    try:
        return ast.parse(code, "<code>", "exec")
    except SyntaxError as exc:
        where = f"line {exc.lineno}: " if exc.lineno else ""
        raise ValidationFailed.for_field(
            "config.code", f"{where}{exc.msg}", "syntax_error"
        ) from exc
    except (RecursionError, MemoryError) as exc:
        raise ValidationFailed.for_field(
            "config.code", "The code is nested too deeply to compile", "syntax_error"
        ) from exc


def _top_level_functions(tree: ast.Module) -> set[str]:
    return {
        node.name for node in tree.body if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    }


def stored_config(config: CodeToolConfig) -> dict[str, Any]:
    return config.model_dump(mode="json")


def runnable(tool: Tool) -> RunnableTool:
    config = CodeToolConfig.model_validate(tool.config)

    async def run(context: ToolContext, arguments: dict[str, Any]) -> Any:
        try:
            outcome = await call_function(
                context.resources.settings,
                config.code,
                config.function,
                arguments,
                wall_seconds=config.timeout_seconds,
            )
        except SandboxUnavailable as exc:
            raise ToolFailed(exc.message, code="SERVICE_UNAVAILABLE") from exc
        error = outcome.error
        if error is not None:
            raise ToolFailed(_failure(tool.name, error))
        return outcome.report.get("result")

    return as_runnable(tool, run, config.timeout_seconds + STARTUP_SECONDS)


def _failure(name: str, error: dict[str, str]) -> str:
    if error["name"] == "LimitExceeded":
        return f"{name} was stopped: {error['value']}"
    message = f"{name} raised {error['name']}: {error['value']}"
    if error["traceback"]:
        message += "\n" + error["traceback"][-MAX_TRACEBACK_CHARS:]
    return message
