"""`code_interpreter`: Python run as a notebook cell in a fresh sandbox on this host.

Each call is a sandbox of its own (`orbiter.sandboxes.oneshot`), killed and deleted when the
call returns: nothing persists between calls, so the model sends whole programs. The output
is what a notebook shows: stdout, stderr, the last expression's value (its `repr`), and the
error the code raised (`{name, value, traceback}`), or the limit that stopped it (`limit`:
`wall_clock`, `cpu`, `disk_quota`, `file_size`; memory shows as a `MemoryError`). Code that
fails is still an answer for the model; only a host without sandboxes fails the call.
"""

from __future__ import annotations

from typing import Any

from orbiter.sandboxes.oneshot import Outcome, SandboxUnavailable, run_cell
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed

NAME = "code_interpreter"
MAX_SECONDS = 120.0  # a call's wall clock, when the operator's command limit is longer
SHOWN_CHARS = 20_000  # of stdout and of stderr each (the tool output's JSON is capped)


def shown(text: str) -> str:
    if len(text) <= SHOWN_CHARS:
        return text
    return text[:SHOWN_CHARS] + f"\n[... {len(text) - SHOWN_CHARS} more characters]"


def outcome_output(outcome: Outcome) -> dict[str, Any]:
    results = [r for r in outcome.report.get("results", []) if isinstance(r, dict)]
    value = next((r.get("text") for r in results if r.get("is_main_result")), None)
    return {
        "stdout": shown(outcome.stdout),
        "stderr": shown(outcome.stderr),
        "result": shown(str(value)) if value is not None else None,
        "error": outcome.error,
        "limit": outcome.limit,
    }


async def run(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    settings = context.resources.settings
    try:
        outcome = await run_cell(settings, str(arguments["code"]), wall_seconds=MAX_SECONDS)
    except SandboxUnavailable as exc:
        raise ToolFailed(exc.message, code="SERVICE_UNAVAILABLE") from exc
    return outcome_output(outcome)


CODE_INTERPRETER = RunnableTool(
    id=NAME,
    name=NAME,
    description=(
        "Run Python 3 code in an isolated sandbox without network access and get its stdout, "
        "stderr, the value of the last expression (as a notebook shows it) and any error. "
        "Each call starts fresh: define everything the code needs in the same call."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "code": {
                "type": "string",
                "minLength": 1,
                "maxLength": 100_000,
                "description": "The Python code; its last line may be an expression to show",
            }
        },
        "required": ["code"],
        "additionalProperties": False,
    },
    run=run,
    timeout_seconds=MAX_SECONDS + 30,  # the sandbox's own wall clock stops the code first
    builtin=True,
)
