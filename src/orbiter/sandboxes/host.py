"""This host's sandboxes: where their files live, the runner, one command at a time each,
and the reaper's tick (started by every process that makes sandboxes, the app and
`orbiter worker`: the files are on this host, so a process here, not one elsewhere, must clean
them up; the tick runs once per host however many of them share it)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import shutil
import socket
import stat
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
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
    Exposed,
    Limits,
    SandboxRunner,
    create_runner,
    limits_from,
    sandbox_root,
)
from orbiter.sandbox.flock import file_lock
from orbiter.sandbox.relay import RedisRelay
from orbiter.sandbox.strays import kill_sessions_binding
from orbiter.sandbox.web_exchange import WebAnswer, WebRequest, exchange


@dataclass
class SandboxHost:
    settings: Settings
    runner: SandboxRunner
    root: Path  # <data dir>/sandboxes/<id>/ is a sandbox's work dir
    name: str = field(default_factory=socket.gethostname)
    _locks: dict[uuid.UUID, asyncio.Lock] = field(default_factory=dict)
    _exposed: dict[uuid.UUID, Exposed] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _ticker: asyncio.Task[None] | None = None
    _relay: RedisRelay | None = None
    _relay_task: asyncio.Task[None] | None = None

    @classmethod
    def create(cls, settings: Settings) -> SandboxHost:
        return cls(
            settings,
            create_runner(settings),
            sandbox_root(settings),
            settings.sandbox_host or socket.gethostname(),
        )

    def work_dir(self, sandbox_id: uuid.UUID) -> Path:
        return self.root / str(sandbox_id)

    def _lock_file(self, sandbox_id: uuid.UUID) -> Path:
        return self.root / ".locks" / str(sandbox_id)

    async def unavailable_reason(self) -> str | None:
        return await self.runner.probe(limits_from(self.settings))

    async def require_available(self) -> None:
        if reason := await self.unavailable_reason():
            raise ServiceUnavailable(f"Sandboxes cannot run on this host: {reason}")

    async def run(
        self, sandbox_id: uuid.UUID, command: Command, limits: Limits | None = None
    ) -> CommandResult:
        """Run `command` in the sandbox (with `limits`, default the free plan's); its
        commands run one at a time, whichever process on this host runs them."""
        lock = self._locks.setdefault(sandbox_id, asyncio.Lock())
        async with lock, file_lock(self._lock_file(sandbox_id)):
            return await self.runner.run(
                str(sandbox_id),
                self.work_dir(sandbox_id),
                command,
                limits or limits_from(self.settings),
            )

    async def serve(
        self, sandbox_id: uuid.UUID, command: Command, port: int, limits: Limits | None = None
    ) -> Exposed:
        """Start a server in the sandbox, reachable through the returned `Exposed` (see
        orbiter.sandbox.expose) until the sandbox is destroyed or the server exits."""
        exposed = await self.runner.serve(
            str(sandbox_id),
            self.work_dir(sandbox_id),
            command,
            limits or limits_from(self.settings),
            port=port,
        )
        self._exposed[sandbox_id] = exposed
        return exposed

    def exposed(self, sandbox_id: uuid.UUID) -> Exposed | None:
        """The server this host runs for the sandbox, while it runs."""
        exposed = self._exposed.get(sandbox_id)
        if exposed is not None and not exposed.alive:
            del self._exposed[sandbox_id]
            return None
        return exposed

    async def run_on(
        self,
        holder: str,
        sandbox_id: uuid.UUID,
        command: Command,
        limits: Limits | None = None,
    ) -> CommandResult:
        """Run `command` in a sandbox held by host `holder`, this one or another."""
        if holder == self.name:
            return await self.run(sandbox_id, command, limits)
        limits = limits or limits_from(self.settings)
        payload = {"command": encode_command(command), "limits": asdict(limits)}
        result = await self._relay_to(holder).call(
            holder, "run", sandbox_id, payload, wait_seconds=limits.wall_seconds
        )
        assert result is not None
        return CommandResult(**result)

    async def destroy_on(self, holder: str, sandbox_id: uuid.UUID) -> None:
        if holder == self.name:
            await self.destroy(sandbox_id)
        else:
            await self._relay_to(holder).call(holder, "destroy", sandbox_id, wait_seconds=0)

    def server_socket(self, sandbox_id: uuid.UUID) -> Path:
        """Where the sandbox's web server is reached on this host, whichever of its
        processes started it."""
        return self.runner.server_socket(str(sandbox_id))

    async def fetch_on(self, holder: str, sandbox_id: uuid.UUID, request: WebRequest) -> WebAnswer:
        """One whole HTTP exchange with the web server of a sandbox held by host `holder`."""
        seconds = self.settings.sandbox_command_seconds
        if holder == self.name:
            return await self._fetch(sandbox_id, request)
        answer = await self._relay_to(holder).call(
            holder, "http", sandbox_id, request.to_payload(), wait_seconds=seconds
        )
        assert answer is not None
        return WebAnswer.from_payload(answer)

    async def _fetch(self, sandbox_id: uuid.UUID, request: WebRequest) -> WebAnswer:
        return await exchange(
            self.server_socket(sandbox_id),
            request,
            max_bytes=self.settings.sandbox_web_relay_max_bytes,
            read_seconds=self.settings.sandbox_command_seconds,
        )

    def _relay_to(self, holder: str) -> RedisRelay:
        if self._relay is None:
            raise ServiceUnavailable(
                f"This sandbox lives on host {holder!r}, and without Redis requests cannot be "
                "relayed to it"
            )
        return self._relay

    async def _relayed(
        self, operation: str, sandbox_id: uuid.UUID, payload: dict[str, Any]
    ) -> dict[str, Any] | None:
        """A request another host relayed to this one."""
        if operation == "run":
            await self.require_available()  # sets the runner up in a process that made none yet
            limits = Limits(**payload["limits"])
            result = await self.run(sandbox_id, decode_command(payload["command"]), limits)
            return asdict(result)
        if operation == "http":
            answer = await self._fetch(sandbox_id, WebRequest.from_payload(payload))
            return answer.to_payload()
        if operation == "destroy":
            await self.destroy(sandbox_id)
            return None
        raise ValueError(f"unknown sandbox operation {operation!r}")

    async def destroy(self, sandbox_id: uuid.UUID) -> None:
        """Kill what runs in it, whichever process of this host started it (the API's or a
        worker's share the sandboxes), and delete its files."""
        await self.runner.kill(str(sandbox_id))
        await asyncio.to_thread(kill_sessions_binding, self.work_dir(sandbox_id))
        with contextlib.suppress(FileNotFoundError):
            self.server_socket(sandbox_id).unlink()
        self._locks.pop(sandbox_id, None)
        self._exposed.pop(sandbox_id, None)
        await asyncio.to_thread(remove_tree, self.work_dir(sandbox_id))
        with contextlib.suppress(FileNotFoundError):
            self._lock_file(sandbox_id).unlink()

    def start(self, queue: JobQueue, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        """The reaper's tick, once per tick for this host whatever the number of processes (the
        first one at once: a restart leaves no orphans); with Redis, also answer other
        replicas' requests for this host's sandboxes (relay.py)."""
        from orbiter.sandboxes.reaper import reap_sandboxes  # the reaper imports this module

        job = Periodic(
            f"sandboxes.reap:{self.name}",
            self.settings.sandbox_reap_seconds,
            partial(reap_sandboxes, self, sessionmaker),
        )
        self._ticker = asyncio.create_task(Ticker(queue, [job]).run(self._stop))
        if self.settings.redis_url:
            self._relay = RedisRelay(self.settings.redis_url, self.name)
            self._relay_task = asyncio.create_task(self._relay.serve(self._relayed, self._stop))

    async def stop(self) -> None:
        self._stop.set()
        for task in (self._ticker, self._relay_task):
            if task is not None:
                with contextlib.suppress(Exception):
                    await task
        await self.runner.kill_all()
        if self._relay is not None:
            await self._relay.close()


def encode_command(command: Command) -> dict[str, Any]:
    return {
        "argv": command.argv,
        "cwd": command.cwd,
        "stdin": base64.b64encode(command.stdin).decode(),
        "env": command.env,
    }


def decode_command(data: dict[str, Any]) -> Command:
    return Command(
        argv=list(data["argv"]),
        cwd=str(data["cwd"]),
        stdin=base64.b64decode(data["stdin"]),
        env=dict(data["env"]),
    )


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
