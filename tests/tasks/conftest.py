"""Fixtures for task tests: the app's sandbox host (tests/sandboxes), a worker, a git server
over smart HTTP on loopback, and a signed-in user with a provider on the fake LLM."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.coding import use_host
from orbiter.sandboxes.host import SandboxHost
from tests.fakes.github import ALICE_TOKEN, FakeGitHub, fake_github  # noqa: F401 - fixture
from tests.fakes.llm_servers import FakeLLM, provider_body
from tests.helpers import API, browser_for
from tests.sandboxes.conftest import _sandbox_root, host  # noqa: F401 - fixtures
from tests.tasks.git_server import GitServer, serve

TOKEN = ALICE_TOKEN  # the token the fake GitHub API accepts, and the git server wants
ENDED = {"completed", "failed", "cancelled"}


@pytest.fixture(autouse=True)
def _worker(run_worker: None) -> None:
    """Tasks are runs: a worker executes them (the app itself, embedded)."""


@pytest.fixture(scope="session")
def git_server() -> Iterator[GitServer]:
    with tempfile.TemporaryDirectory(prefix="orbiter-git-") as root:
        yield from serve(Path(root), TOKEN)


@pytest.fixture
async def coder(
    app: FastAPI,
    host: SandboxHost,  # noqa: F811 - the fixture imported above
    fake_llm: FakeLLM,
) -> AsyncIterator[AsyncClient]:
    """A signed-in user whose default provider is the fake OpenAI server."""
    use_host(host)  # the app's (another app started by another test may have taken over)
    client, _ = await browser_for(app)
    response = await client.post(f"{API}/providers", json=provider_body(fake_llm))
    assert response.status_code == 201, response.text
    try:
        yield client
    finally:
        await client.aclose()


async def store_push_credential(client: AsyncClient, github: FakeGitHub, server: GitServer) -> None:
    """A `github` credential (checked against the fake GitHub API) for the git server's host."""
    body = {
        "provider": "github",
        "api_token": TOKEN,
        "metadata": {"api_url": github.enterprise_url, "host": f"127.0.0.1:{server.port}"},
    }
    response = await client.post(f"{API}/infrastructure/credentials", json=body)
    assert response.status_code == 201, response.text


async def start_task(
    client: AsyncClient, repo_url: str, prompt: str, **body: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/tasks", json={"prompt": prompt, "repoUrl": repo_url, **body}
    )
    assert response.status_code == 201, response.text
    task: dict[str, Any] = response.json()
    assert task["status"] == "pending" and task["progress"] == 0 and task["logs"] == []
    return task


async def wait_for(
    client: AsyncClient, task_id: str, done: Any = None, timeout: float = 30
) -> dict[str, Any]:
    """The task once `done(task)` holds (default: it ended), polled quickly."""
    check = done or (lambda task: task["status"] in ENDED)
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(f"{API}/tasks/{task_id}")
            assert response.status_code == 200, response.text
            task: dict[str, Any] = response.json()
            if check(task):
                return task
            await asyncio.sleep(0.05)
