"""Checks of a patch: the changed files parse (Python compiles, JSON loads), then the
project's tests when they are detectable and fast (pytest, in the sandbox, when the project
has Python tests and the sandbox's Python has pytest), within the sandbox's command limits."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from orbiter.action_items.structure import is_test
from orbiter.sandbox import CommandResult

MAX_OUTPUT = 4_000
PYTEST = ["python3", "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider"]
HAS_PYTEST = ["python3", "-c", "import pytest"]

Run = Callable[[list[str]], Awaitable[CommandResult]]


def _tail(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT else "…" + text[-MAX_OUTPUT:]


def parse_check(path: str, data: bytes) -> dict[str, Any] | None:
    """Whether a changed file still parses; None for a kind of file not checked."""
    try:
        if path.endswith(".py"):
            compile(data, path, "exec", dont_inherit=True)
            return {"name": f"compile {path}", "passed": True, "output": ""}
        if path.endswith(".json"):
            json.loads(data)
            return {"name": f"json {path}", "passed": True, "output": ""}
    except (SyntaxError, ValueError, RecursionError) as exc:
        name = "compile" if path.endswith(".py") else "json"
        return {"name": f"{name} {path}", "passed": False, "output": _tail(str(exc))}
    return None


async def test_check(paths: list[str], run: Run) -> dict[str, Any] | None:
    """The project's pytest run; None when the project has no Python tests or no pytest."""
    if not any(is_test(path) and path.endswith(".py") for path in paths):
        return None
    if (await run(HAS_PYTEST)).exit_code != 0:
        return None
    result = await run(PYTEST)
    output = _tail((result.stdout + result.stderr).strip())
    if result.limit:
        output = f"{output}\n(stopped: {result.limit})".strip()
    return {"name": " ".join(PYTEST), "passed": result.exit_code == 0, "output": output}


def report(
    changes: list[tuple[str, bytes | None, bytes | None]], checks: list[dict[str, Any]]
) -> str:
    verbs = [
        f"{'added' if before is None else 'deleted' if after is None else 'changed'} {path}"
        for path, before, after in changes
    ]
    failed = [check["name"] for check in checks if not check["passed"]]
    lines = [f"The agent {', '.join(verbs)}." if verbs else "The agent changed no file."]
    lines.append(
        f"Checks: {len(checks) - len(failed)} of {len(checks)} passed"
        + (f"; failed: {', '.join(failed)}." if failed else ".")
    )
    return "\n".join(lines)
