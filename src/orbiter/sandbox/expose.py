"""Reach a TCP server that runs inside a sandbox, while the sandbox keeps no network.

The sandbox has its own network namespace with nothing but `lo`, so a server inside it
listens on a loopback nobody outside can reach. `SandboxRunner.serve` exposes it:

* the host binds a Unix socket at `socket_path` (in `<sandbox dir>/.sockets/`, 0700, never
  bound into any sandbox) and passes the listening fd into a long-lived sandbox, whose first
  process is `scripts/expose.py` (the sandbox's read-only Python). That forwarder starts the
  server, says `ready` once the server accepts on 127.0.0.1:<port> inside the sandbox, and
  relays each connection made on the socket to that port;
* the sandbox is otherwise the same as a command's (same binds, namespaces, rlimits; the
  disk quota is watched while it runs) except that no wall clock applies: it runs until
  `Exposed.close()`, `SandboxRunner.kill(key)`, or the server exits. When it ends, the
  socket is closed and unlinked and every `TcpForward` on it stops listening.

Host-side API (all on loopback or a Unix socket; nothing listens beyond 127.0.0.1):

    exposed = await runner.serve(key, work_dir, Command([...]), limits, port=8000)
    if await exposed.wait_ready(10.0):           # False: it exited or did not listen in time
        reader, writer = await exposed.open_connection()      # a raw stream to the server
        async with exposed.http_client() as http:              # httpx over the socket
            response = await http.get("/")                     # base URL http://sandbox
        forward = await exposed.forward_tcp()    # 127.0.0.1:<ephemeral> -> the server
        forward.url                               # e.g. http://127.0.0.1:41234
        await forward.close()                     # or it closes when the sandbox ends
    exposed.output()                              # (stdout, stderr) so far, capped
    await exposed.close()                         # kill the sandbox's processes
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from orbiter.sandbox.limits import DISK_QUOTA
from orbiter.sandbox.spawn import Spawned

CHUNK = 65536
QUOTA_POLL_SECONDS = 0.5  # a long-lived server's work dir is checked less often
MAX_SOCKET_PATH = 107  # sun_path's 108 bytes, with its NUL


def bind_socket(path: Path) -> socket.socket:
    """A listening Unix socket at `path` (its directory made private to this process)."""
    if len(os.fsencode(path)) > MAX_SOCKET_PATH:
        raise OSError(f"socket path too long for a Unix socket: {path}")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
        listener.listen(128)
    except BaseException:
        listener.close()
        raise
    return listener


@dataclass
class Exposed:
    """A server running in a sandbox, reachable through `socket_path`."""

    socket_path: Path
    port: int  # where the server listens inside the sandbox
    process: Spawned
    listener: socket.socket
    output_cap: int
    limit: str | None = None  # the limit that ended it (disk quota), if one did
    _stdout: bytearray = field(default_factory=bytearray)
    _stderr: bytearray = field(default_factory=bytearray)
    _ready: asyncio.Event = field(default_factory=asyncio.Event)
    _closed: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def alive(self) -> bool:
        return not self._closed.is_set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self.alive

    async def wait_ready(self, seconds: float) -> bool:
        """Whether the server accepts connections, waiting up to `seconds`."""
        ready = asyncio.ensure_future(self._ready.wait())
        closed = asyncio.ensure_future(self._closed.wait())
        await asyncio.wait({ready, closed}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        closed.cancel()
        return self.ready

    async def wait_closed(self) -> None:
        await self._closed.wait()

    @property
    def exit_code(self) -> int | None:
        code = self.process.returncode
        return None if code is None else (128 - code if code < 0 else code)

    def output(self) -> tuple[str, str]:
        return (
            self._stdout.decode("utf-8", errors="replace"),
            self._stderr.decode("utf-8", errors="replace"),
        )

    async def open_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """A raw stream to the server (through the forwarder)."""
        return await asyncio.open_unix_connection(str(self.socket_path), limit=CHUNK)

    def http_client(self, **options: Any) -> httpx.AsyncClient:
        """An httpx client whose requests go to the server; base URL `http://sandbox`."""
        transport = httpx.AsyncHTTPTransport(uds=str(self.socket_path))
        return httpx.AsyncClient(transport=transport, base_url="http://sandbox", **options)

    async def forward_tcp(self) -> TcpForward:
        """A listener on 127.0.0.1 (an ephemeral port) relaying to the server; it stops
        when the sandbox ends."""
        forward = TcpForward(self)
        await forward.start()
        return forward

    async def close(self) -> None:
        """Kill the sandbox (its whole process tree) and wait until it is cleaned up."""
        kill_group(self.process)
        await self.wait_closed()

    async def supervise(
        self, side_fd: int, work_dir: Path, quota: int, usage: Callable[[Path], int]
    ) -> None:
        """Started by the runner: drain output, watch readiness and the disk quota, and clean
        up when the process ends."""
        assert self.process.stdout and self.process.stderr
        self._tasks = [
            asyncio.ensure_future(_keep(self.process.stdout, self._stdout, self.output_cap)),
            asyncio.ensure_future(_keep(self.process.stderr, self._stderr, self.output_cap)),
            asyncio.ensure_future(self._watch_ready(side_fd)),
            asyncio.ensure_future(self._watch_quota(work_dir, quota, usage)),
        ]
        try:
            await self.process.wait()
        finally:
            for task in self._tasks[2:]:
                task.cancel()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*self._tasks[:2]), 2.0)
            self.listener.close()
            with contextlib.suppress(OSError):
                self.socket_path.unlink()
            self._closed.set()

    async def _watch_ready(self, side_fd: int) -> None:
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader()
        transport, _ = await loop.connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(side_fd, "rb", buffering=0)
        )
        try:
            if (await reader.readline()).strip() == b"ready":
                self._ready.set()
        finally:
            transport.close()

    async def _watch_quota(self, work_dir: Path, quota: int, usage: Callable[[Path], int]) -> None:
        start = await asyncio.to_thread(usage, work_dir)
        while True:
            await asyncio.sleep(QUOTA_POLL_SECONDS)
            used = await asyncio.to_thread(usage, work_dir)
            if used > quota and used > start:
                self.limit = DISK_QUOTA
                kill_group(self.process)
                return


@dataclass
class TcpForward:
    """127.0.0.1:<port> on the host, relayed to an exposed server."""

    exposed: Exposed
    port: int = 0
    _server: asyncio.Server | None = None
    _watcher: asyncio.Task[None] | None = None
    _relays: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def listening(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0, limit=CHUNK)
        self.port = self._server.sockets[0].getsockname()[1]
        self._watcher = asyncio.ensure_future(self._close_with_sandbox())

    async def _close_with_sandbox(self) -> None:
        await self.exposed.wait_closed()
        await self._shut()

    async def _relay(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._relays.add(task)
        try:
            try:
                app_r, app_w = await self.exposed.open_connection()
            except OSError:
                client_w.close()
                return
            await asyncio.gather(_pipe(client_r, app_w), _pipe(app_r, client_w))
            app_w.close()
            client_w.close()
        finally:
            self._relays.discard(task)

    async def _shut(self) -> None:
        if self._server is not None:
            self._server.close()
            for task in list(self._relays):
                task.cancel()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def close(self) -> None:
        if self._watcher is not None:
            self._watcher.cancel()
        await self._shut()


def kill_group(process: Spawned) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


async def _keep(stream: asyncio.StreamReader, kept: bytearray, cap: int) -> None:
    while chunk := await stream.read(CHUNK):
        if len(kept) < cap:
            kept += chunk[: cap - len(kept)]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()
