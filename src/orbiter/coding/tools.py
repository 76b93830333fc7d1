"""The coding agent's tools, bound to one sandbox: each runs as a command inside it.

Outputs are cut to `MAX_TEXT_CHARS` characters per text (and say so with `truncated`), so a
tool's output always fits a tool result (tools.base.MAX_OUTPUT_CHARS).
"""

from __future__ import annotations

from typing import Any

from orbiter.coding.workspace import SandboxWorkspace, sandbox_path
from orbiter.sandbox import LIMIT_MESSAGES, CommandResult
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed

MAX_TEXT_CHARS = 40_000
MAX_LISTED = 1000
MAX_MATCHES = 200
MAX_WRITE_CHARS = 1_000_000
FILE_SECONDS = 30.0  # list, read, write and search: quick commands

WRITE_SCRIPT = 'mkdir -p -- "$(dirname -- "$1")" && cat > "$1"'
PATH_PROPERTY = {"type": "string", "maxLength": 4096, "description": "Relative to the repository"}


def _cut(text: str, *, tail: bool = False) -> tuple[str, bool]:
    if len(text) <= MAX_TEXT_CHARS:
        return text, False
    return (text[-MAX_TEXT_CHARS:] if tail else text[:MAX_TEXT_CHARS]), True


def _failed(result: CommandResult, what: str) -> ToolFailed:
    if result.limit is not None:
        return ToolFailed(f"{what}: {LIMIT_MESSAGES[result.limit]}")
    message = result.stderr.strip()[-2000:] or f"exited with status {result.exit_code}"
    return ToolFailed(f"{what}: {message}")


def workspace_tools(
    workspace: SandboxWorkspace, *, command_seconds: float
) -> dict[str, RunnableTool]:
    """The five tools on `workspace`; `run_command` may take up to `command_seconds` (the
    sandbox's own wall clock kills a longer command first)."""

    async def list_files(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        root = sandbox_path(str(arguments.get("path") or "."))
        depth = int(arguments.get("max_depth") or 3)
        argv = ["find", root, "-mindepth", "1", "-maxdepth", str(depth)]
        argv += ["(", "-name", ".git", "-prune", ")", "-o", "-printf", "%y %s %P\\n"]
        result = await workspace.run(argv)
        if result.exit_code != 0:
            raise _failed(result, "Could not list the files")
        entries = []
        for line in result.stdout.splitlines():
            kind, _sep, rest = line.partition(" ")
            size, _sep, path = rest.partition(" ")
            if path and size.isdigit():
                entries.append({"path": path, "type": _KINDS.get(kind, "other"), "size": int(size)})
        entries.sort(key=lambda e: str(e["path"]))
        return {"entries": entries[:MAX_LISTED], "truncated": len(entries) > MAX_LISTED}

    async def read_file(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        path = sandbox_path(str(arguments["path"]))
        start = int(arguments.get("start_line") or 1)
        end = arguments.get("end_line")
        script = f"{start},{int(end)}p" if end else f"{start},$p"
        result = await workspace.run(["sed", "-n", script, "--", path])
        if result.exit_code != 0:
            raise _failed(result, f"Could not read {arguments['path']}")
        content, truncated = _cut(result.stdout)
        return {"path": arguments["path"], "content": content, "truncated": truncated}

    async def write_file(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        path = sandbox_path(str(arguments["path"]))
        data = str(arguments["content"]).encode()
        result = await workspace.run(["sh", "-c", WRITE_SCRIPT, "sh", path], stdin=data)
        if result.exit_code != 0:
            raise _failed(result, f"Could not write {arguments['path']}")
        return {"path": arguments["path"], "bytes": len(data)}

    async def search_files(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        root = sandbox_path(str(arguments.get("path") or "."))
        argv = ["grep", "-rnIE", "--exclude-dir=.git", "-e", str(arguments["pattern"]), "--", root]
        result = await workspace.run(argv)
        if result.exit_code not in (0, 1):  # 1: nothing matched
            raise _failed(result, "The search failed")
        prefix = root.rstrip("/") + "/"
        lines = [line.removeprefix(prefix) for line in result.stdout.splitlines()]
        matches = [_cut(line)[0][:1000] for line in lines[:MAX_MATCHES]]
        return {"matches": matches, "truncated": len(lines) > MAX_MATCHES}

    async def run_command(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
        bash = context.resources.settings.sandbox_bash
        result = await workspace.run([bash, "-c", str(arguments["command"])])
        stdout, cut_out = _cut(result.stdout, tail=True)
        stderr, cut_err = _cut(result.stderr, tail=True)
        return {
            "exit_code": result.exit_code,
            "stdout": stdout,
            "stderr": stderr,
            "truncated": cut_out or cut_err,
            "limit": LIMIT_MESSAGES[result.limit] if result.limit else None,
        }

    tools = (
        _tool("list_files", LIST_DOC, LIST_SCHEMA, list_files, FILE_SECONDS),
        _tool("read_file", READ_DOC, READ_SCHEMA, read_file, FILE_SECONDS),
        _tool("write_file", WRITE_DOC, WRITE_SCHEMA, write_file, FILE_SECONDS),
        _tool("search_files", SEARCH_DOC, SEARCH_SCHEMA, search_files, FILE_SECONDS),
        _tool("run_command", RUN_DOC, RUN_SCHEMA, run_command, command_seconds + 10),
    )
    return {tool.name: tool for tool in tools}


def _tool(
    name: str, description: str, schema: dict[str, Any], run: Any, seconds: float
) -> RunnableTool:
    return RunnableTool(
        id=name,
        name=name,
        description=description,
        input_schema=schema,
        run=run,
        timeout_seconds=seconds,
        builtin=True,
    )


_KINDS = {"f": "file", "d": "directory", "l": "link"}

LIST_DOC = "List the files and directories of the repository (or of `path` in it), recursively."
LIST_SCHEMA = {
    "type": "object",
    "properties": {
        "path": PATH_PROPERTY,
        "max_depth": {"type": "integer", "minimum": 1, "maximum": 20, "default": 3},
    },
    "additionalProperties": False,
}
READ_DOC = "Read a text file of the repository (optionally only lines start_line..end_line)."
READ_SCHEMA = {
    "type": "object",
    "properties": {
        "path": PATH_PROPERTY,
        "start_line": {"type": "integer", "minimum": 1},
        "end_line": {"type": "integer", "minimum": 1},
    },
    "required": ["path"],
    "additionalProperties": False,
}
WRITE_DOC = "Create or replace a file of the repository with `content` (directories are made)."
WRITE_SCHEMA = {
    "type": "object",
    "properties": {
        "path": PATH_PROPERTY,
        "content": {"type": "string", "maxLength": MAX_WRITE_CHARS},
    },
    "required": ["path", "content"],
    "additionalProperties": False,
}
SEARCH_DOC = (
    "Search the repository's text files for a regular expression (grep -E); "
    "answers `file:line:text` matches."
)
SEARCH_SCHEMA = {
    "type": "object",
    "properties": {
        "pattern": {"type": "string", "minLength": 1, "maxLength": 1000},
        "path": PATH_PROPERTY,
    },
    "required": ["pattern"],
    "additionalProperties": False,
}
RUN_DOC = (
    "Run a shell command (bash) at the repository's root in the sandbox: no network, "
    "bounded time, CPU, memory and disk. Answers exit_code, stdout and stderr."
)
RUN_SCHEMA = {
    "type": "object",
    "properties": {"command": {"type": "string", "minLength": 1, "maxLength": 100_000}},
    "required": ["command"],
    "additionalProperties": False,
}
