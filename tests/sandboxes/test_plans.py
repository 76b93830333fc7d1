"""A sandbox's limits come from its owner's plan: the `sandbox_*` settings are the free plan's,
`sandbox_plan_limits` gives pro and team their own; each is enforced."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import datetime

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import update

from orbiter.core.db import transaction
from orbiter.models import User
from orbiter.runtime.resources import Resources
from orbiter.sandboxes.host import SandboxHost
from tests.helpers import browser_for, new_client, register, unique_email
from tests.sandboxes.conftest import API, start, terminal

LIMITS = "ulimit -f; ulimit -u; ulimit -t; ulimit -v"


@pytest.fixture
async def pro(app: FastAPI, resources: Resources, host: SandboxHost) -> AsyncIterator[AsyncClient]:
    """A signed-in user on the pro plan."""
    email = unique_email("pro")
    anonymous = new_client(app)
    await register(anonymous, email)
    await anonymous.aclose()
    async with transaction(resources.sessionmaker) as db:
        await db.execute(update(User).where(User.email == email).values(plan="pro"))
    client, user = await browser_for(app, email)
    assert user["plan"] == "pro"
    try:
        yield client
    finally:
        await client.aclose()


async def test_a_pro_sandbox_gets_the_pro_plans_limits(
    user: AsyncClient,
    pro: AsyncClient,
    host: SandboxHost,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = host.settings
    monkeypatch.setattr(settings, "sandbox_file_bytes", 1024**2)  # free: 1 MiB files
    monkeypatch.setattr(
        settings,
        "sandbox_plan_limits",
        {"pro": {"file_bytes": 8 * 1024**2, "processes": 100, "ttl_seconds": 7200}},
    )
    free_sbx, pro_sbx = (await start(user))["sbxId"], (await start(pro))["sbxId"]

    free_limits = (await terminal(user, free_sbx, LIMITS))["stdout"].split()
    pro_limits = (await terminal(pro, pro_sbx, LIMITS))["stdout"].split()
    cpu, memory = str(settings.sandbox_cpu_seconds), str(settings.sandbox_memory_bytes // 1024)
    assert free_limits == ["1024", str(settings.sandbox_processes), cpu, memory]
    assert pro_limits == ["8192", "100", cpu, memory]  # what pro does not set stays the free one

    write = "head -c 4M /dev/zero > big"
    refused = await terminal(user, free_sbx, write)
    assert refused["limit"] == "file_size"
    assert (host.work_dir(uuid.UUID(free_sbx)) / "big").stat().st_size <= 1024**2
    allowed = await terminal(pro, pro_sbx, write)
    assert allowed["limit"] is None and allowed["exitCode"] == 0
    assert (host.work_dir(uuid.UUID(pro_sbx)) / "big").stat().st_size == 4 * 1024**2

    free_row = (await user.get(f"{API}/sandbox/{free_sbx}")).json()
    pro_row = (await pro.get(f"{API}/sandbox/{pro_sbx}")).json()
    lifetime = {
        name: (
            datetime.fromisoformat(row["expires_at"]) - datetime.fromisoformat(row["created_at"])
        ).total_seconds()
        for name, row in (("free", free_row), ("pro", pro_row))
    }
    assert abs(lifetime["free"] - settings.sandbox_ttl_seconds) < 30
    assert abs(lifetime["pro"] - 7200) < 30


def test_plan_limits_name_known_limits() -> None:
    from orbiter.core.settings import Settings

    with pytest.raises(ValueError, match="sandbox_plan_limits"):
        Settings(sandbox_plan_limits={"pro": {"gpus": 1}})
