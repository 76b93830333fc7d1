"""What every tool is, built-in or custom: a name, a description, the JSON Schema of its input,
and an async function from validated input to a JSON-able output.

A tool reports a failure the caller should see (the model, or the invoking user) by raising
`ToolFailed` with a message; anything else it raises is a bug, logged, and reported as a
generic failure. Output must be JSON (a dict, list, string, number, bool or null).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from orbiter.runtime.resources import Resources

DEFAULT_TIMEOUT_SECONDS = 30.0
MAX_OUTPUT_CHARS = 100_000  # the JSON text of an output; longer outputs fail, never truncate


class ToolFailed(Exception):
    """The tool ran and failed; `message` is for the model (or the invoking user). `code`
    (an envelope code) is what a run of the tool alone fails with: UPSTREAM_ERROR when a
    service the tool called failed, BAD_REQUEST when the input made no sense to it."""

    def __init__(self, message: str, *, code: str = "BAD_REQUEST") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@dataclass(frozen=True)
class ToolContext:
    """Who runs the tool, where, and the process's resources (settings, secrets, network)."""

    resources: Resources
    user_id: uuid.UUID | None  # None: the run's user was deleted meanwhile
    project_id: uuid.UUID
    run_id: uuid.UUID | None = None


ToolFunction = Callable[[ToolContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class RunnableTool:
    """A tool ready to run. `id` is a built-in's name or a custom tool's id."""

    id: str
    name: str
    description: str
    input_schema: dict[str, Any]
    run: ToolFunction
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    builtin: bool = False


def json_output(value: Any) -> Any:
    """`value` as it will be stored and shown: plain JSON within the size limit, or ToolFailed."""
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ToolFailed(f"The tool returned something that is not JSON: {exc}") from exc
    if len(text) > MAX_OUTPUT_CHARS:
        raise ToolFailed(
            f"The tool's output is {len(text)} characters of JSON; the limit is {MAX_OUTPUT_CHARS}"
        )
    return json.loads(text)
