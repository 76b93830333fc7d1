"""Fixtures for sandbox tests: the app's sandbox host (skipped where bubblewrap cannot run),
its work dirs in a directory the sandbox's user can reach, and a signed-in user's client."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.sandbox import limits_from
from orbiter.sandboxes.host import SandboxHost, remove_tree
from tests.helpers import browser_for

API = "/api/v1"


@pytest.fixture(scope="session")
def _sandbox_root() -> Iterator[Path]:
    # The test data dir is private (0700); sandboxes run as an unprivileged user when the
    # tests run as root, so their work dirs live where that user can pass (as in production).
    root = Path(tempfile.mkdtemp(prefix="orbiter-sandboxes-"))
    root.chmod(0o711)
    yield root
    remove_tree(root)


@pytest.fixture
async def host(app: FastAPI, _sandbox_root: Path) -> SandboxHost:
    sandboxes: SandboxHost = app.state.sandboxes
    if sandboxes.root != _sandbox_root:
        sandboxes.root = _sandbox_root
        sandboxes.runner.root = _sandbox_root  # type: ignore[attr-defined]
        sandboxes.runner._works = False  # type: ignore[attr-defined]
    reason = await sandboxes.runner.probe(limits_from(sandboxes.settings))
    if reason:
        pytest.skip(f"sandboxes cannot run here: {reason}")
    return sandboxes


@pytest.fixture
async def user(app: FastAPI, host: SandboxHost) -> AsyncIterator[AsyncClient]:
    client, _ = await browser_for(app)
    try:
        yield client
    finally:
        await client.aclose()


async def start(client: AsyncClient, code: str = "", **fragment: Any) -> dict[str, Any]:
    """POST /sandbox; the 201 body."""
    body = {"template": "code-interpreter-v1", "code": code, **fragment}
    response = await client.post(f"{API}/sandbox", json={"fragment": body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def terminal(
    client: AsyncClient, sbx_id: str, command: str, working_directory: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"command": command, "sbxId": sbx_id}
    if working_directory is not None:
        body["workingDirectory"] = working_directory
    response = await client.post(f"{API}/terminal", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]
