"""Start a sandbox's first process cheaply from a large server process.

`asyncio.create_subprocess_exec` on uvloop (what `orbiter serve` runs) forks the whole
server, copying its page tables: with a few hundred MB resident that alone took ~30 ms per
command. `subprocess.Popen` uses vfork (no copy) when it changes no user or group, so the
process is started with it and then joined to the event loop: its pipes as asyncio streams,
its exit seen through a pidfd (Linux 5.3+), so no child watcher and no thread is involved.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import Sequence
from typing import IO


class Spawned:
    """The subset of asyncio.subprocess.Process the runner uses."""

    def __init__(
        self,
        popen: subprocess.Popen[bytes],
        stdin: asyncio.StreamWriter | None,
        stdout: asyncio.StreamReader,
        stderr: asyncio.StreamReader,
    ) -> None:
        self._popen = popen
        self.stdin = stdin
        self.stdout = stdout
        self.stderr = stderr
        self._exited: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._watch_exit()

    @property
    def pid(self) -> int:
        return self._popen.pid

    @property
    def returncode(self) -> int | None:
        return self._popen.returncode

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def _watch_exit(self) -> None:
        loop = asyncio.get_running_loop()
        pidfd = os.pidfd_open(self._popen.pid)

        def exited() -> None:
            loop.remove_reader(pidfd)
            os.close(pidfd)
            code = self._popen.wait()  # a zombie by now: reaped at once
            if not self._exited.done():
                self._exited.set_result(code)

        loop.add_reader(pidfd, exited)


async def spawn(argv: Sequence[str], *, stdin: bool, pass_fds: Sequence[int]) -> Spawned:
    """Start `argv` in a new session with piped stdout and stderr (and stdin if `stdin`)."""
    popen = _start(argv, stdin, pass_fds)
    try:
        assert popen.stdout is not None and popen.stderr is not None
        stdout = await _reader(popen.stdout)
        stderr = await _reader(popen.stderr)
        writer = await _writer(popen.stdin) if popen.stdin is not None else None
    except BaseException:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
        raise
    return Spawned(popen, writer, stdout, stderr)


def _start(argv: Sequence[str], stdin: bool, pass_fds: Sequence[int]) -> subprocess.Popen[bytes]:
    """Blocks only until the child has called exec (vfork): about a millisecond, less than a
    thread hand-off would cost."""
    return subprocess.Popen(  # noqa: S603 - argv is built by the runner, never a shell
        list(argv),
        stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        pass_fds=tuple(pass_fds),
        start_new_session=True,
    )


async def _reader(pipe: IO[bytes]) -> asyncio.StreamReader:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
    return reader


async def _writer(pipe: IO[bytes]) -> asyncio.StreamWriter:
    loop = asyncio.get_running_loop()
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
    return asyncio.StreamWriter(transport, protocol, None, loop)
