"""The SandboxRunner protocol: run one command in a sandbox's own filesystem, bounded.

A sandbox is a work dir on this host (its files) plus the commands run in it. Each command
starts a fresh isolated process tree that sees the work dir at `HOME` and is killed whole
when the command returns, so nothing a command starts outlives it. `bwrap.py` is the real
implementation (bubblewrap); the domain (`orbiter.sandboxes`) only sees this protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from orbiter.sandbox.expose import Exposed
from orbiter.sandbox.limits import Limits

HOME = "/home/user"  # where the work dir appears inside the sandbox (as E2B's clients expect)
SCRIPTS = "/opt/orbiter"  # the helper scripts (scripts/), bound read-only
SCRIPTS_DIR = Path(__file__).resolve().parent / "scripts"
SIDE_FD = 3  # a pipe the helper scripts report on (cell results, the working directory)


@dataclass(frozen=True)
class Command:
    argv: list[str]  # as seen inside the sandbox
    cwd: str = HOME
    stdin: bytes = b""
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class CommandResult:
    stdout: str
    stderr: str
    exit_code: int
    side: str  # what the command wrote to fd 3
    limit: str | None  # which limit killed it (limits.py), if one did


class SandboxRunner(Protocol):
    def unavailable_reason(self) -> str | None:
        """Why this host cannot run sandboxes (None when it can)."""
        ...

    async def probe(self, limits: Limits) -> str | None:
        """Run a trivial command once (cached): None when sandboxes work on this host, else
        why not."""
        ...

    def has_program(self, path: str) -> bool:
        """Whether `path` (e.g. /usr/bin/node) can run inside a sandbox on this host."""
        ...

    def prepare(self, work_dir: Path) -> None:
        """Make the directory `work_dir`, writable by the sandbox's processes."""
        ...

    def hand_over(self, path: Path) -> None:
        """Give `path` (made by this process) to the sandbox's user."""
        ...

    async def run(
        self, key: str, work_dir: Path, command: Command, limits: Limits
    ) -> CommandResult:
        """Run `command` with `work_dir` at HOME; `key` names the sandbox for `kill`."""
        ...

    async def serve(
        self, key: str, work_dir: Path, command: Command, limits: Limits, *, port: int
    ) -> Exposed:
        """Start a server (`command`, listening on `port` inside the sandbox) that lives until
        killed or it exits, reachable from the host through the returned `Exposed`
        (expose.py); the sandbox keeps no network. `kill(key)` stops it too."""
        ...

    def server_socket(self, key: str) -> Path:
        """Where `serve(key)` binds its Unix socket: any process on this host reaches the
        server there while it runs."""
        ...

    async def kill(self, key: str) -> None:
        """Kill every command this process runs for `key` now."""
        ...

    async def kill_all(self) -> None: ...
