"""Any replica serves any sandbox: two app instances on one database and one Redis, each with
its own sandbox host; commands for a sandbox held by the other are relayed to it."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.settings import Settings
from orbiter.main import create_app
from orbiter.sandboxes.host import SandboxHost, remove_tree
from tests.helpers import assert_error, browser_for, create_api_key, new_client
from tests.sandboxes.conftest import API, start, terminal


@pytest.fixture
async def replica(migrated: Settings, backend: str, host: SandboxHost) -> AsyncIterator[FastAPI]:
    """A second instance, host `replica-b`, with sandboxes in a directory of its own."""
    if backend != "services":
        pytest.skip("replicas share Redis: the services backend only")
    root = Path(tempfile.mkdtemp(prefix="orbiter-replica-"))
    root.chmod(0o711)
    settings = migrated.model_copy(update={"sandbox_host": "replica-b", "sandbox_dir": root})
    second = create_app(settings)
    try:
        async with LifespanManager(second):
            yield second
    finally:
        remove_tree(root)


async def test_a_sandbox_on_one_replica_is_served_by_the_other(
    app: FastAPI, replica: FastAPI, host: SandboxHost
) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)
    await browser.aclose()
    one: AsyncClient = new_client(app, **{"X-API-Key": key})
    two: AsyncClient = new_client(replica, **{"X-API-Key": key})
    try:
        held_by_b: SandboxHost = replica.state.sandboxes
        sbx = (await start(two, "open('made-on-b', 'w').write('b')"))["sbxId"]
        work_dir = held_by_b.work_dir(uuid.UUID(sbx))
        assert work_dir.is_dir() and not host.work_dir(uuid.UUID(sbx)).exists()

        ran = await terminal(one, sbx, "cat made-on-b; mkdir sub && cd sub && touch from-a")
        assert ran["stdout"] == "b" and ran["workingDirectory"] == "/home/user/sub"
        assert (work_dir / "sub" / "from-a").is_file()  # it ran on replica b, where the files are
        again = await terminal(two, sbx, "pwd")
        assert again["stdout"] == "/home/user/sub\n"  # one working directory, whoever asks

        assert (await one.get(f"{API}/sandbox/{sbx}")).status_code == 200
        deleted = await one.delete(f"{API}/sandbox/{sbx}")
        assert deleted.status_code == 204, deleted.text
        assert not work_dir.exists()  # replica b deleted its files
        assert_error(await two.get(f"{API}/sandbox/{sbx}"), 404, "RESOURCE_NOT_FOUND")
    finally:
        await one.aclose()
        await two.aclose()
