"""Code run once in a fresh sandbox: the `code_interpreter` tool, custom `code` tools and the
`code_python` workflow node (wherever their run executes: a worker, or the API process).

Each call gets a sandbox of its own and nothing else: a new work dir under this host's
sandbox root, named by a fresh UUID (so the reaper removes it should the process die
mid-call), one command with the operator's limits (the wall clock possibly shorter), then
its processes are killed and its files deleted, whatever happened. Nothing is kept between
calls (a variable set in one call is gone in the next), and no sandbox row is written: the
caller's database transaction is never held while the code runs.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from dataclasses import dataclass, replace
from typing import Any

from orbiter.core.settings import Settings
from orbiter.sandbox import (
    LIMIT_MESSAGES,
    SCRIPTS,
    Command,
    SandboxRunner,
    create_runner,
    limits_from,
    sandbox_root,
)
from orbiter.sandboxes.host import remove_tree

CELL = "cell.py"  # the code-interpreter-v1 template's script: a notebook cell
CALL = "call.py"  # a function called with arguments, or a script with a result

_runners: dict[tuple[Any, ...], SandboxRunner] = {}


class SandboxUnavailable(Exception):
    """This host cannot run sandboxes; `message` says why."""

    def __init__(self, reason: str) -> None:
        self.message = f"Sandboxes cannot run on this host: {reason}"
        super().__init__(self.message)


@dataclass(frozen=True)
class Outcome:
    stdout: str
    stderr: str
    exit_code: int
    report: dict[str, Any]  # what the script reported on the side channel
    limit: str | None  # which limit stopped the code (orbiter.sandbox.limits), if one did

    @property
    def error(self) -> dict[str, str] | None:
        """`{name, value, traceback}`: what the code raised, or the limit that stopped it."""
        error = self.report.get("error")
        if self.limit is not None:
            return {"name": "LimitExceeded", "value": limit_message(self.limit), "traceback": ""}
        if isinstance(error, dict):
            return {key: str(error.get(key, "")) for key in ("name", "value", "traceback")}
        if self.exit_code != 0 and not self.report:
            return {
                "name": "NonZeroExit",
                "value": f"the interpreter exited with status {self.exit_code}",
                "traceback": self.stderr[-4000:],
            }
        return None


def limit_message(limit: str) -> str:
    return f"{LIMIT_MESSAGES.get(limit, 'a limit was reached')} (limit: {limit})"


def _runner(settings: Settings) -> SandboxRunner:
    """One runner per sandbox configuration, kept for the process (it remembers its probe)."""
    key = (
        sandbox_root(settings),
        settings.sandbox_bwrap_path,
        settings.sandbox_network,
        settings.sandbox_uid,
        tuple(settings.sandbox_ro_binds),
    )
    if key not in _runners:
        _runners[key] = create_runner(settings)
    return _runners[key]


async def unavailable_reason(settings: Settings) -> str | None:
    """Why code cannot run in sandboxes here (None when it can)."""
    return await _runner(settings).probe(limits_from(settings))


async def run_python(
    settings: Settings, script: str, stdin: bytes, *, wall_seconds: float | None = None
) -> Outcome:
    """Run one of the helper scripts (CELL, CALL) with `stdin` in a fresh sandbox."""
    limits = limits_from(settings)
    if wall_seconds is not None:
        limits = replace(limits, wall_seconds=min(limits.wall_seconds, wall_seconds))
    runner = _runner(settings)
    if reason := await runner.probe(limits):
        raise SandboxUnavailable(reason)
    key = str(uuid.uuid4())
    work_dir = sandbox_root(settings) / key
    command = Command([settings.sandbox_python, f"{SCRIPTS}/{script}"], stdin=stdin)
    try:
        runner.prepare(work_dir)
        result = await runner.run(key, work_dir, command, limits)
    finally:
        await runner.kill(key)
        await asyncio.to_thread(remove_tree, work_dir)
    return Outcome(
        result.stdout, result.stderr, result.exit_code, _report(result.side), result.limit
    )


def _report(side: str) -> dict[str, Any]:
    try:
        report = json.loads(side) if side else {}
    except ValueError:
        return {}
    return report if isinstance(report, dict) else {}


async def run_cell(settings: Settings, code: str, *, wall_seconds: float) -> Outcome:
    """`code` as a notebook cell: `report["results"]` holds the last expression's value."""
    return await run_python(settings, CELL, code.encode(), wall_seconds=wall_seconds)


async def call_function(
    settings: Settings, code: str, function: str, arguments: dict[str, Any], *, wall_seconds: float
) -> Outcome:
    """`function(**arguments)` of `code`: `report["result"]` is what it returned (JSON)."""
    request = {"code": code, "function": function, "arguments": arguments}
    return await run_python(settings, CALL, _json(request), wall_seconds=wall_seconds)


async def run_script(
    settings: Settings, code: str, names: dict[str, Any], *, wall_seconds: float | None = None
) -> Outcome:
    """`code` with `names` set: `report["result"]` is its `result` (or last expression)."""
    request = {"code": code, "globals": names}
    return await run_python(settings, CALL, _json(request), wall_seconds=wall_seconds)


def _json(value: Any) -> bytes:
    return json.dumps(value, default=str).encode()
