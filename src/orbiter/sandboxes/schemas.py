"""Sandbox and terminal bodies, named as the fragments clients send and read them (camelCase
where API.md says so)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from orbiter.chat.schemas import Fragment
from orbiter.core.schemas import RequestModel

MAX_COMMAND_CHARS = 100_000  # one argv string inside the sandbox stays under the kernel's cap


class SandboxCreate(RequestModel):
    fragment: Fragment
    workspace_id: uuid.UUID | None = Field(
        default=None,
        description="An addition: start the sandbox with this workspace's current files in "
        "its home directory (any member of the workspace's project may)",
    )


class RuntimeErrorRead(BaseModel):
    name: str = Field(description="The error's type, e.g. `ZeroDivisionError`")
    value: str = Field(description="Its message")
    traceback: str = Field(
        description="As the interpreter prints it (the runner's frames left out)"
    )


class SandboxFile(BaseModel):
    path: str = Field(description="Relative to the sandbox's home directory (/home/user)")
    size: int


class SandboxExecution(BaseModel):
    sbxId: uuid.UUID
    template: str
    stdout: str
    stderr: str
    runtimeError: RuntimeErrorRead | None = Field(
        description="Set when the code raised, exited non-zero or was killed at a limit"
    )
    cellResults: list[dict[str, Any]] = Field(
        description="The last expression's value as a notebook shows it: `text` (its repr), "
        "the rich forms it has (`html`, `markdown`, `png`, ...) and `is_main_result`"
    )
    files: list[SandboxFile] = Field(description="The files in the sandbox's home directory")
    url: str | None = Field(
        default=None,
        description="Web templates: where the API serves the sandbox's server "
        "(`/api/v1/sandbox/{id}/web/`, with the caller's credentials); null when it did not "
        "start (see `runtimeError`) and for interpreter templates",
    )
    exitCode: int = Field(description="An addition: the interpreter's exit status")
    limit: str | None = Field(
        description="An addition: the limit that killed the code (`wall_clock`, `disk_quota`, "
        "`cpu`, `file_size`); memory runs out as the language's own error (`MemoryError`)"
    )


class SandboxRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    template: str
    status: Literal["running"] = Field(
        default="running", description="Listed sandboxes are live; expired ones are deleted"
    )
    url: str | None = Field(
        default=None, description="Web templates: where the API serves the sandbox's server"
    )
    cwd: str = Field(description="Where the next terminal command starts")
    created_at: datetime
    expires_at: datetime


class TemplateRead(BaseModel):
    name: str
    language: str
    kind: Literal["interpreter", "web"] = Field(
        description="`interpreter`: runs the code, answers its output; `web`: runs the code "
        "as a server on the fragment's `port` and answers its `url`"
    )
    port: int | None = Field(description="Web templates: the port when the fragment has none")


class TerminalCommand(RequestModel):
    command: str = Field(min_length=1, max_length=MAX_COMMAND_CHARS)
    sbxId: uuid.UUID
    workingDirectory: str | None = Field(
        default=None,
        min_length=1,
        max_length=4096,
        description="Where to run it (relative paths start at /home/user); default: where "
        "the previous command ended",
    )


class TerminalResult(BaseModel):
    stdout: str
    stderr: str
    exitCode: int
    workingDirectory: str
    limit: str | None = Field(default=None, description="An addition, as in `POST /sandbox`")
