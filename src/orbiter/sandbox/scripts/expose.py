"""A server's forwarder, run inside a sandbox by the sandbox's own Python.

    python3 expose.py <listener fd> <port> <server argv...>

The host passes in a listening Unix socket (an inherited fd: nothing is bound into the
sandbox's filesystem, so the sandbox cannot swap the socket for a link to a host path). This
script starts the server, writes `ready` on the side channel (fd $ORBITER_SIDE_FD) once
something accepts on 127.0.0.1:<port> (or [::1]) inside the sandbox's own network namespace,
and relays every connection the host makes on the socket to that port. It exits with the
server's status when the server exits; the sandbox dies with it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys

ADDRESSES = ("127.0.0.1", "::1")
POLL_SECONDS = 0.01
CHUNK = 65536


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    error: OSError = ConnectionRefusedError(f"nothing listens on port {port}")
    for address in ADDRESSES:
        try:
            return await asyncio.open_connection(address, port)
        except OSError as exc:
            error = exc
    raise error


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError):
        while chunk := await reader.read(CHUNK):
            writer.write(chunk)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()


async def relay(port: int, host_r: asyncio.StreamReader, host_w: asyncio.StreamWriter) -> None:
    try:
        app_r, app_w = await connect(port)
    except OSError:
        host_w.close()
        return
    await asyncio.gather(pipe(host_r, app_w), pipe(app_r, host_w))
    for writer in (app_w, host_w):
        writer.close()


async def announce_ready(port: int, server: asyncio.subprocess.Process) -> None:
    while server.returncode is None:
        try:
            _, writer = await connect(port)
        except OSError:
            await asyncio.sleep(POLL_SECONDS)
            continue
        writer.close()
        side = int(os.environ["ORBITER_SIDE_FD"])
        os.write(side, b"ready\n")
        os.close(side)
        return


async def main(fd: int, port: int, argv: list[str]) -> int:
    listener = socket.socket(fileno=fd)
    # close_fds (the default): the server gets neither the listener nor the side channel
    server = await asyncio.create_subprocess_exec(*argv)
    relays = await asyncio.start_unix_server(
        lambda r, w: relay(port, r, w), sock=listener, limit=CHUNK
    )
    ready = asyncio.ensure_future(announce_ready(port, server))
    code = await server.wait()
    ready.cancel()
    relays.close()
    return code


if __name__ == "__main__":
    sys.exit(asyncio.run(main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:])))
