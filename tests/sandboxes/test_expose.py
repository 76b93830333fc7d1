"""A server inside a sandbox is reached from the host through a Unix socket (and a loopback
TCP forward), while the sandbox itself still has no network: only its own `lo`."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from orbiter.sandbox import Command, Exposed, limits_from
from orbiter.sandboxes.host import SandboxHost

# A server that reports what its sandbox sees: its interfaces and whether it can reach the
# host's loopback listener (whose port it gets as argv[1]); POST echoes the body.
SERVER = """
import http.server, json, socket, sys
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        lines = open("/proc/net/dev").read().splitlines()[2:]
        try:
            socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1).close()
            outbound = "connected"
        except OSError as exc:
            outbound = type(exc).__name__
        self.reply(json.dumps({"interfaces": sorted(l.split(":")[0].strip() for l in lines),
                               "outbound": outbound, "path": self.path}).encode())
    def do_POST(self):
        self.reply(self.rfile.read(int(self.headers["Content-Length"]))[::-1])
    def reply(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
http.server.ThreadingHTTPServer(("127.0.0.1", 8000), Handler).serve_forever()
"""


@pytest.fixture
async def host_listener() -> AsyncIterator[tuple[int, list[str]]]:
    """A TCP server on the host's 127.0.0.1, recording every connection it gets."""
    connections: list[str] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.append(str(writer.get_extra_info("peername")))
        writer.close()

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1], connections
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
async def exposed(
    host: SandboxHost, host_listener: tuple[int, list[str]]
) -> AsyncIterator[Exposed]:
    key = str(uuid.uuid4())
    work_dir = host.work_dir(uuid.UUID(key))
    host.runner.prepare(work_dir)
    command = Command([host.settings.sandbox_python, "-c", SERVER, str(host_listener[0])])
    served = await host.runner.serve(key, work_dir, command, limits_from(host.settings), port=8000)
    try:
        assert await served.wait_ready(20.0), served.output()
        yield served
    finally:
        await host.destroy(uuid.UUID(key))


async def test_a_sandboxed_server_answers_through_the_socket_and_a_loopback_port(
    exposed: Exposed, host_listener: tuple[int, list[str]]
) -> None:
    async with exposed.http_client() as http:
        seen = (await http.get("/inside?x=1")).json()
        echoed = await http.post("/", content=b"abc" * 50_000)
    assert seen["path"] == "/inside?x=1"
    assert seen["interfaces"] == ["lo"]  # the sandbox has no network but its own loopback
    assert seen["outbound"] == "ConnectionRefusedError"  # its 127.0.0.1 is not the host's
    assert host_listener[1] == []  # and the host's listener got no connection
    assert echoed.content == b"cba" * 50_000

    reader, writer = await exposed.open_connection()  # a raw stream works as well
    writer.write(b"GET /raw HTTP/1.0\r\n\r\n")
    assert (await reader.read()).startswith(b"HTTP/1.0 200")
    writer.close()

    forward = await exposed.forward_tcp()
    assert forward.url.startswith("http://127.0.0.1:")
    async with httpx.AsyncClient(base_url=forward.url) as http:
        assert (await http.get("/tcp")).json()["path"] == "/tcp"
    await forward.close()
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=forward.url) as http:
            await http.get("/")


async def test_everything_closes_when_the_sandbox_dies(exposed: Exposed, host: SandboxHost) -> None:
    forward = await exposed.forward_tcp()
    key = exposed.socket_path.stem
    await host.runner.kill(key)  # as DELETE /sandbox and the reaper do
    await asyncio.wait_for(exposed.wait_closed(), 10)
    assert not exposed.alive and not exposed.socket_path.exists()
    assert exposed.exit_code is not None
    for _ in range(100):  # the forward stops listening as the sandbox ends
        if not forward.listening:
            break
        await asyncio.sleep(0.01)
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=forward.url) as http:
            await http.get("/")


async def test_a_server_that_never_listens_is_not_ready(host: SandboxHost) -> None:
    key = str(uuid.uuid4())
    work_dir = host.work_dir(uuid.UUID(key))
    host.runner.prepare(work_dir)
    command = Command([host.settings.sandbox_python, "-c", "import sys; sys.exit('no port')"])
    served = await host.runner.serve(key, work_dir, command, limits_from(host.settings), port=8000)
    try:
        assert not await served.wait_ready(20.0)
        await served.wait_closed()
        assert served.exit_code == 1 and "no port" in served.output()[1]
    finally:
        await host.destroy(uuid.UUID(key))
