"""One sandbox as the coding agent's workspace, and this process's sandbox host.

`process_host(settings)` is the `SandboxHost` of this process: the API registers its own
(`use_host`, in the app's lifespan) so that runs executed there share its sandboxes; a
worker process makes one from the settings (its files live under the same data dir, and the
sandbox rows it writes let the API's reaper free them at expiry).
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from pathlib import Path

from orbiter.core.settings import Settings
from orbiter.sandbox import HOME, Command, CommandResult
from orbiter.sandboxes.host import SandboxHost
from orbiter.tools.base import ToolFailed

_host: SandboxHost | None = None


def use_host(host: SandboxHost | None) -> None:
    """Make `host` this process's sandbox host (None forgets it)."""
    global _host
    _host = host


def process_host(settings: Settings) -> SandboxHost:
    global _host
    if _host is None:
        _host = SandboxHost.create(settings)
    return _host


@dataclass(frozen=True)
class SandboxWorkspace:
    host: SandboxHost
    sandbox_id: uuid.UUID

    @property
    def work_dir(self) -> Path:
        return self.host.work_dir(self.sandbox_id)

    async def run(
        self, argv: list[str], *, stdin: bytes = b"", env: dict[str, str] | None = None
    ) -> CommandResult:
        """Run `argv` in the sandbox's home, with the sandbox limits."""
        return await self.host.run(
            self.sandbox_id, Command(argv, cwd=HOME, stdin=stdin, env=dict(env or {}))
        )


def sandbox_path(text: str, *, field: str = "path") -> str:
    """`text` (relative to the home, or absolute under it) as an absolute path in the home."""
    if "\x00" in text:
        raise ToolFailed(f"{field} must not contain NUL")
    joined = posixpath.normpath(posixpath.join(HOME, text or "."))
    if joined != HOME and not joined.startswith(HOME + "/"):
        raise ToolFailed(f"{field} must be inside the workspace ({HOME}); got {text!r}")
    return joined
