"""Web templates: the fragment's server runs in its sandbox (which still has no network) and
the API serves it at the sandbox's `url`, to its owner only."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.sandboxes.host import SandboxHost
from tests.helpers import assert_error, browser_for, create_api_key, new_client
from tests.sandboxes.conftest import API, start, terminal
from tests.sandboxes.test_replicas import replica  # noqa: F401 - the fixture, used below

SERVER = """
import http.server, json, os
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        lines = open("/proc/net/dev").read().splitlines()[2:]
        self.reply(json.dumps({
            "path": self.path,
            "headers": {k.lower(): v for k, v in self.headers.items()},
            "interfaces": [l.split(":")[0].strip() for l in lines],
        }).encode())
    def do_POST(self):
        self.reply(self.rfile.read(int(self.headers["Content-Length"])).upper())
    def reply(self, body):
        self.send_response(201)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "orbiter_session=planted")
        self.send_header("X-App", "yes")
        self.end_headers()
        self.wfile.write(body)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


async def start_web(client: AsyncClient, code: str = SERVER, **fragment: Any) -> dict[str, Any]:
    return await start(client, code, **{"template": "python-web-v1", "port": 5000, **fragment})


async def test_templates_list_the_web_ones(user: AsyncClient) -> None:
    listed = (await user.get(f"{API}/sandbox/templates")).json()["data"]
    kinds = {t["name"]: (t["kind"], t["port"]) for t in listed}
    assert kinds["python-web-v1"] == ("web", 8000)
    assert kinds["code-interpreter-v1"] == ("interpreter", None)


async def test_a_web_fragment_is_served_through_the_api(user: AsyncClient) -> None:
    started = await start_web(user, file_path="site/app.py")
    sbx = started["sbxId"]
    assert started["runtimeError"] is None, started
    assert started["url"] == f"{str(user.base_url).rstrip('/')}{API}/sandbox/{sbx}/web/"
    assert {"path": "site/app.py", "size": len(SERVER)} in started["files"]
    assert (await user.get(f"{API}/sandbox/{sbx}")).json()["url"] == started["url"]

    got = await user.get(f"{API}/sandbox/{sbx}/web/a/b?x=1&y=2", headers={"X-Mine": "m"})
    assert got.status_code == 201, got.text
    seen = got.json()
    assert seen["path"] == "/a/b?x=1&y=2" and seen["headers"]["x-mine"] == "m"
    assert seen["interfaces"] == ["lo"]  # the server's sandbox still has no network
    # The caller's credentials stay here; the app cannot plant cookies on this origin.
    assert not {"cookie", "x-csrf-token", "authorization", "x-api-key"} & set(seen["headers"])
    assert got.headers["x-app"] == "yes" and "set-cookie" not in got.headers
    assert got.headers["content-security-policy"].startswith("sandbox ")

    posted = await user.post(f"{API}/sandbox/{sbx}/web/echo", content=b"hello " * 20_000)
    assert posted.status_code == 201 and posted.content == b"HELLO " * 20_000

    assert (await user.delete(f"{API}/sandbox/{sbx}")).status_code == 204
    assert_error(await user.get(f"{API}/sandbox/{sbx}/web/"), 404, "RESOURCE_NOT_FOUND")


async def test_only_the_owner_reaches_it_with_the_keys_scope(
    app: FastAPI, user: AsyncClient
) -> None:
    sbx = (await start_web(user))["sbxId"]
    other, _ = await browser_for(app)
    read_only: AsyncClient = new_client(app, **{"X-API-Key": await create_api_key(user, ["read"])})
    try:
        assert_error(await other.get(f"{API}/sandbox/{sbx}/web/"), 404, "RESOURCE_NOT_FOUND")
        assert (await read_only.get(f"{API}/sandbox/{sbx}/web/k")).json()["path"] == "/k"
        assert_error(
            await read_only.post(f"{API}/sandbox/{sbx}/web/", content=b"x"), 403, "FORBIDDEN"
        )
        anonymous = new_client(app)
        assert_error(await anonymous.get(f"{API}/sandbox/{sbx}/web/"), 401, "UNAUTHORIZED")
        await anonymous.aclose()
    finally:
        await other.aclose()
        await read_only.aclose()


async def test_a_server_that_does_not_listen_is_reported(user: AsyncClient) -> None:
    failed = await start_web(user, "raise SystemExit('no server today')")
    assert failed["url"] is None
    assert failed["runtimeError"]["name"] == "ServerNotListening"
    assert "no server today" in failed["runtimeError"]["traceback"]
    sbx = failed["sbxId"]
    assert_error(await user.get(f"{API}/sandbox/{sbx}/web/"), 503, "SERVICE_UNAVAILABLE")
    assert (await terminal(user, sbx, "ls"))["stdout"] == "app.py\n"  # its files are there


async def test_an_interpreter_sandbox_has_no_web_url(user: AsyncClient) -> None:
    sbx = (await start(user, "1"))["sbxId"]
    assert (await user.get(f"{API}/sandbox/{sbx}")).json()["url"] is None
    assert_error(await user.get(f"{API}/sandbox/{sbx}/web/"), 404, "RESOURCE_NOT_FOUND")


async def test_a_node_server(user: AsyncClient, host: SandboxHost) -> None:
    if not host.runner.has_program(host.settings.sandbox_node):
        pytest.skip("node is not installed here")
    code = (
        "require('http').createServer((q, s) => s.end('node ' + q.url))"
        ".listen(process.env.PORT, '127.0.0.1')"
    )
    started = await start(user, code, template="node-web-v1")
    assert started["runtimeError"] is None, started
    got = await user.get(f"{API}/sandbox/{started['sbxId']}/web/hi")
    assert got.text == "node /hi"


async def test_the_server_dies_with_its_sandbox(user: AsyncClient, host: SandboxHost) -> None:
    sbx = (await start_web(user))["sbxId"]
    exposed = host.exposed(uuid.UUID(sbx))
    assert exposed is not None and exposed.alive
    assert (await user.delete(f"{API}/sandbox/{sbx}")).status_code == 204
    assert not exposed.alive and not exposed.socket_path.exists()


async def test_another_replica_relays_the_exchange_to_the_host_that_holds_it(
    app: FastAPI,
    replica: FastAPI,  # noqa: F811 - the fixture imported above
    host: SandboxHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)
    await browser.aclose()
    one: AsyncClient = new_client(app, **{"X-API-Key": key})
    two: AsyncClient = new_client(replica, **{"X-API-Key": key})
    held_by_b: SandboxHost = replica.state.sandboxes
    try:
        sbx = (await start_web(two))["sbxId"]
        assert not host.server_socket(uuid.UUID(sbx)).exists()  # it runs on replica b only

        got = await one.get(f"{API}/sandbox/{sbx}/web/a?x=1", headers={"X-Mine": "m"})
        assert got.status_code == 201, got.text
        seen = got.json()
        assert seen["path"] == "/a?x=1" and seen["headers"]["x-mine"] == "m"
        assert seen["interfaces"] == ["lo"]
        assert not {"cookie", "x-api-key"} & set(seen["headers"])
        assert got.headers["x-app"] == "yes" and "set-cookie" not in got.headers
        assert got.headers["content-security-policy"].startswith("sandbox ")
        posted = await one.post(f"{API}/sandbox/{sbx}/web/echo", content=b"hi " * 30_000)
        assert posted.status_code == 201 and posted.content == b"HI " * 30_000

        # Bodies over the cap: the request's is refused before it is sent, the answer's (the
        # server echoes the headers) by the holder; on its own host the exchange is streamed.
        for holder in (host, held_by_b):
            monkeypatch.setattr(holder.settings, "sandbox_web_relay_max_bytes", 1000)
        too_big = await one.post(f"{API}/sandbox/{sbx}/web/echo", content=b"x" * 1001)
        assert assert_error(too_big, 413, "PAYLOAD_TOO_LARGE")["details"] == {"max_bytes": 1000}
        padded = await one.get(f"{API}/sandbox/{sbx}/web/", headers={"X-Pad": "p" * 1500})
        assert "1000 bytes" in assert_error(padded, 502, "UPSTREAM_ERROR")["message"]
        streamed = await two.post(f"{API}/sandbox/{sbx}/web/echo", content=b"x" * 5000)
        assert streamed.content == b"X" * 5000

        exposed = held_by_b.exposed(uuid.UUID(sbx))
        assert exposed is not None
        await exposed.close()  # the server is gone: the holder says so through the relay
        gone = assert_error(await one.get(f"{API}/sandbox/{sbx}/web/"), 503, "SERVICE_UNAVAILABLE")
        assert "not running" in gone["message"]
        assert (await one.delete(f"{API}/sandbox/{sbx}")).status_code == 204  # relayed
        assert not held_by_b.work_dir(uuid.UUID(sbx)).exists()
    finally:
        await one.aclose()
        await two.aclose()
