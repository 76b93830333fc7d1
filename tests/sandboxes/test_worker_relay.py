"""A sandbox held by a host that runs only `orbiter worker` (a coding task's) is still served
by the API: its worker answers the requests relayed to its host through Redis. And any
process of a host stops a sandbox's processes, whichever process started them."""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi import FastAPI

from orbiter.core.time import utcnow
from orbiter.models import Sandbox
from orbiter.runtime.resources import Resources
from orbiter.sandbox import create_runner
from orbiter.sandboxes.host import SandboxHost, remove_tree
from tests.helpers import browser_for
from tests.runs.test_workers import PLAIN, worker_processes
from tests.sandboxes.conftest import API, terminal
from tests.sandboxes.test_web import start_web


async def test_a_worker_only_host_answers_the_terminal_for_its_sandbox(
    app: FastAPI,
    resources: Resources,
    host: SandboxHost,
    backend: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend != "services":
        pytest.skip("relaying needs Redis: the services backend only")
    client, me = await browser_for(app)
    root = Path(tempfile.mkdtemp(prefix="orbiter-worker-host-"))
    root.chmod(0o711)  # the sandbox's user passes through, as in production
    name = f"worker-only-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("ORBITER_SANDBOX_DIR", str(root))
    monkeypatch.setenv("ORBITER_SANDBOX_HOST", name)
    sandbox_id = uuid.uuid4()  # as the worker's task would have made it
    create_runner(host.settings.model_copy(update={"sandbox_dir": root})).prepare(
        root / str(sandbox_id)
    )
    async with resources.sessionmaker() as db:
        db.add(
            Sandbox(
                id=sandbox_id,
                user_id=uuid.UUID(me["id"]),
                template="code-interpreter-v1",
                host=name,
                cwd="/home/user",
                expires_at=utcnow() + timedelta(hours=1),
            )
        )
        await db.commit()
    logs = tmp_path / "logs"
    logs.mkdir()
    try:
        async with worker_processes(logs) as start:
            start(*PLAIN)
            ran = await terminal(client, str(sandbox_id), "mkdir w && cd w && echo made > f")
            assert ran["exitCode"] == 0 and ran["workingDirectory"] == "/home/user/w", ran
            assert (root / str(sandbox_id) / "w" / "f").read_text() == "made\n"
            deleted = await client.delete(f"{API}/sandbox/{sandbox_id}")
            assert deleted.status_code == 204
            assert not (root / str(sandbox_id)).exists()  # the worker deleted its files
    finally:
        await client.aclose()
        remove_tree(root)


async def test_any_process_of_the_host_stops_a_sandboxs_server(
    app: FastAPI, host: SandboxHost
) -> None:
    client, _ = await browser_for(app)
    try:
        sbx = uuid.UUID((await start_web(client))["sbxId"])
        exposed = host.exposed(sbx)
        assert exposed is not None and exposed.alive
        # Another process of this host (a worker, say): its own runner, the same directory.
        runner = create_runner(host.settings)
        runner.root = host.root  # type: ignore[attr-defined]  # as the host fixture does
        await SandboxHost(host.settings, runner, host.root, host.name).destroy(sbx)
        deadline = time.monotonic() + 10
        while exposed.alive:
            assert time.monotonic() < deadline, "the server outlived its sandbox"
            await asyncio.sleep(0.05)
        assert not host.server_socket(sbx).exists() and not host.work_dir(sbx).exists()
    finally:
        await client.aclose()
