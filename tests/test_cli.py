"""The `orbiter` command: create-user makes an account that can sign in; worker cleans up."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from httpx import AsyncClient
from sqlalchemy import select, update

from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.models import AccessToken
from orbiter.runtime.resources import Resources
from orbiter.worker import run_worker
from tests.helpers import PASSWORD, assert_error, unique_email

ORBITER = Path(sys.executable).parent / "orbiter"


def test_create_user_refuses_a_common_password(migrated: Settings) -> None:
    email = unique_email("cli")
    env = {**os.environ, "ORBITER_NEW_PASSWORD": PASSWORD}
    done = subprocess.run(
        [str(ORBITER), "create-user", "--email", email, "--name", "Ops", "--plan", "pro"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert email in done.stdout
    refused = subprocess.run(
        [str(ORBITER), "create-user", "--email", email, "--password", "password"],
        env=os.environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert refused.returncode != 0 and "too common" in refused.stderr


async def test_a_cli_created_user_can_log_in_with_their_plan(client: AsyncClient) -> None:
    email = unique_email("cli")
    env = {**os.environ, "ORBITER_NEW_PASSWORD": PASSWORD}
    subprocess.run(
        [str(ORBITER), "create-user", "--email", email, "--plan", "team"],
        env=env,
        capture_output=True,
        timeout=120,
        check=True,
    )
    login = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["user"]["plan"] == "team"
    assert (await client.get("/api/v1/projects")).headers["RateLimit-Limit"] == "1000"


async def test_the_worker_purges_long_expired_tokens_and_keeps_live_ones(
    app: object, resources: Resources, migrated: Settings
) -> None:
    from tests.helpers import browser_for, device_token, new_client

    browser, _ = await browser_for(app)  # type: ignore[arg-type]
    old = await device_token(app, browser)  # type: ignore[arg-type]
    live = await device_token(app, browser)  # type: ignore[arg-type]
    async with resources.sessionmaker() as db:
        oldest = (await db.scalars(select(AccessToken).order_by(AccessToken.created_at))).first()
        assert oldest is not None
        await db.execute(
            update(AccessToken)
            .where(AccessToken.id == oldest.id)
            .values(expires_at=utcnow() - timedelta(days=2))
        )
        await db.commit()
    await run_worker(migrated, once=True)
    async with resources.sessionmaker() as db:
        remaining = (await db.scalars(select(AccessToken))).all()
    assert len(remaining) == 1
    async with new_client(app, Authorization=f"Bearer {live}") as cli:  # type: ignore[arg-type]
        assert (await cli.get("/api/v1/auth/me")).status_code == 200
    async with new_client(app, Authorization=f"Bearer {old}") as cli:  # type: ignore[arg-type]
        assert_error(await cli.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    await browser.aclose()
