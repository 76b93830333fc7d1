"""This host's sandboxes: where their files live, the runner, one command at a time each,
and the reaper's tick (started with the app: the files are on this host, so this process,
not a worker elsewhere, must clean them up)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from orbiter.core.errors import ServiceUnavailable
from orbiter.core.settings import Settings
from orbiter.queue import JobQueue, Periodic, Ticker
from orbiter.sandbox import (
    Command,
    CommandResult,
    SandboxRunner,
    create_runner,
    limits_from,
    sandbox_root,
)


@dataclass
class SandboxHost:
    settings: Settings
    runner: SandboxRunner
    root: Path  # <data dir>/sandboxes/<id>/ is a sandbox's work dir
    name: str = field(default_factory=socket.gethostname)
    _locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _ticker: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> SandboxHost:
        return cls(settings, create_runner(settings), sandbox_root(settings))

    def work_dir(self, sandbox_id: uuid.UUID) -> Path:
        return self.root / str(sandbox_id)

    async def unavailable_reason(self) -> str | None:
        return await self.runner.probe(limits_from(self.settings))

    async def require_available(self) -> None:
        if reason := await self.unavailable_reason():
            raise ServiceUnavailable(f"Sandboxes cannot run on this host: {reason}")

    async def run(self, sandbox_id: uuid.UUID, command: Command) -> CommandResult:
        """Run `command` in the sandbox; its commands run one at a time."""
        lock = self._locks.setdefault(sandbox_id, asyncio.Lock())
        async with lock:
            return await self.runner.run(
                str(sandbox_id), self.work_dir(sandbox_id), command, limits_from(self.settings)
            )

    async def destroy(self, sandbox_id: uuid.UUID) -> None:
        """Kill what runs in it and delete its files."""
        await self.runner.kill(str(sandbox_id))
        self._locks.pop(sandbox_id, None)
        await asyncio.to_thread(remove_tree, self.work_dir(sandbox_id))

    def start(self, queue: JobQueue, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """The reaper's tick, once per tick for this host whatever the number of processes."""
        from orbiter.sandboxes.reaper import reap_sandboxes  # the reaper imports this module

        job = Periodic(
            f"sandboxes.reap:{self.name}",
            self.settings.sandbox_reap_seconds,
            partial(reap_sandboxes, self, sessionmaker),
        )
        self._ticker = asyncio.create_task(Ticker(queue, [job]).run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._ticker is not None:
            with contextlib.suppress(Exception):
                await self._ticker
        await self.runner.kill_all()


def remove_tree(path: Path) -> None:
    """Delete `path` even where a sandbox took away its own write permissions."""

    def retry(function: Callable[..., Any], failed: str, _: object) -> None:
        for directory in (os.path.dirname(failed), failed):  # never chmod through a link
            if os.path.isdir(directory) and not os.path.islink(directory):
                with contextlib.suppress(OSError):
                    os.chmod(directory, stat.S_IRWXU)
        with contextlib.suppress(FileNotFoundError):
            function(failed)

    if path.exists():
        shutil.rmtree(path, onerror=retry)
