"""One sandbox as the coding agent's workspace, and this process's sandbox host.

`process_host(settings)` is the `SandboxHost` of this process: the API registers its own
(`use_host`, in the app's lifespan) so that runs executed there share its sandboxes; a
worker process makes one from the settings (`run_worker` does at start-up, and runs its
reaper: the sandbox rows it writes are freed at expiry by whichever process on this host
ticks the reaper).
"""

from __future__ import annotations

import posixpath
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from orbiter.core.db import transaction
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import Sandbox
from orbiter.runtime.resources import Resources
from orbiter.sandbox import HOME, Command, CommandResult
from orbiter.sandboxes.host import SandboxHost
from orbiter.tools.base import ToolFailed

_host: SandboxHost | None = None


def use_host(host: SandboxHost | None) -> None:
    """Make `host` this process's sandbox host (None forgets it)."""
    global _host
    _host = host


def forget_host(host: SandboxHost) -> None:
    """`host` stops (its app shuts down): forget it, unless another one replaced it since."""
    if _host is host:
        use_host(None)


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


async def new_sandbox(
    resources: Resources, *, user_id: uuid.UUID, template: str, lifetime_seconds: float
) -> SandboxWorkspace:
    """An empty sandbox of `user_id` on this process's host: its work dir, and its row (one of
    the user's sandboxes, so `/terminal` reaches it and the reaper frees it at expiry).
    503 when sandboxes cannot run on this host."""
    host = process_host(resources.settings)
    await host.require_available()
    sandbox_id = uuid.uuid4()
    host.runner.prepare(host.work_dir(sandbox_id))
    async with transaction(resources.sessionmaker) as db:
        db.add(
            Sandbox(
                id=sandbox_id,
                user_id=user_id,
                template=template,
                host=host.name,
                cwd=HOME,
                expires_at=utcnow() + timedelta(seconds=lifetime_seconds),
            )
        )
    return SandboxWorkspace(host, sandbox_id)


def sandbox_path(text: str, *, field: str = "path") -> str:
    """`text` (relative to the home, or absolute under it) as an absolute path in the home."""
    if "\x00" in text:
        raise ToolFailed(f"{field} must not contain NUL")
    joined = posixpath.normpath(posixpath.join(HOME, text or "."))
    if joined != HOME and not joined.startswith(HOME + "/"):
        raise ToolFailed(f"{field} must be inside the workspace ({HOME}); got {text!r}")
    return joined
