"""Helpers for the deploy tests: everything through HTTP (and the deployed apps' own URLs
on this host's loopback)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
from httpx import AsyncClient

from tests.helpers import API, new_project
from tests.workspaces.util import new_workspace, set_current

INFRA = f"{API}/infrastructure"
POLL_SECONDS = 0.05
WAIT_SECONDS = 30.0

# A standard-library app: answers on $PORT with what its build wrote and its own label.
APP = b"""
import http.server, os
BUILT = open("built.txt").read().strip() if os.path.exists("built.txt") else "unbuilt"
class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = f"{BUILT} {open('label.txt').read().strip()} {self.path}".encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        print("served", self.path, flush=True)
print("app starting", flush=True)
http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
"""


async def app_workspace(client: AsyncClient, label: str = "v1") -> dict[str, str]:
    """A project whose main workspace holds the app, set to build and start it."""
    project = await new_project(client, "Deployed")
    workspace = await new_workspace(client, project, "main")
    await set_current(client, workspace["id"], {"app.py": APP, "label.txt": label.encode()})
    saved = await client.put(
        f"{INFRA}/workspaces/{workspace['id']}/deployment-settings",
        json={
            "build_command": "echo compiling && echo built > built.txt",
            "start_command": "python3 app.py",
            "health_check_path": "/healthz",
        },
    )
    assert saved.status_code == 200, saved.text
    return {"project": project, "workspace": workspace["id"]}


async def deployments(client: AsyncClient, workspace_id: str) -> list[dict[str, Any]]:
    listed = await client.get(f"{INFRA}/workspaces/{workspace_id}/deployments")
    assert listed.status_code == 200, listed.text
    return listed.json()["data"]  # type: ignore[no-any-return]


async def wait_for(
    client: AsyncClient, workspace_id: str, deployment_id: str, *statuses: str
) -> dict[str, Any]:
    """The deployment once its status is one of `statuses`."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        found = {d["id"]: d for d in await deployments(client, workspace_id)}[deployment_id]
        if found["status"] in statuses:
            return found
        assert time.monotonic() < deadline, found
        await asyncio.sleep(POLL_SECONDS)


async def fetch(url: str) -> httpx.Response:
    async with httpx.AsyncClient(timeout=5.0) as http:
        return await http.get(url)


async def wait_unreachable(url: str) -> None:
    """`url` stops answering (its app was stopped)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        try:
            await fetch(url)
        except httpx.TransportError:
            return
        assert time.monotonic() < deadline, f"{url} still answers"
        await asyncio.sleep(POLL_SECONDS)
