"""The `orbiter` command: create-user makes an account that can sign in; worker cleans up;
migrate says what it did; check and rotate-keys; every failure is one line and exit 1."""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import select, update

from orbiter.core.crypto import new_key_entry
from orbiter.core.settings import Settings
from orbiter.core.time import utcnow
from orbiter.main import create_app
from orbiter.models import AccessToken
from orbiter.runtime.resources import Resources
from orbiter.worker import run_worker
from tests.fakes.llm_servers import provider_body
from tests.helpers import PASSWORD, assert_error, create_api_key, new_client, unique_email
from tests.tools.util import http_tool

ORBITER = Path(sys.executable).parent / "orbiter"
ROOT = Path(__file__).resolve().parents[1]


async def _orbiter(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the command while this process's event loop goes on: the test app in this process
    runs its background work (ticks that write to the same database) and must not be frozen
    holding a database lock the command waits for."""
    return await asyncio.to_thread(
        subprocess.run,
        [str(ORBITER), *args],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _one_line_error(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    """Exit 1 with one line on stderr, no traceback, containing each of `expected`."""
    assert done.returncode == 1, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("orbiter: error: "), done.stderr
    for text in expected:
        assert text in lines[0]
    return lines[0]


async def test_create_user_refuses_a_duplicate_email_and_a_common_password(
    migrated: Settings,
) -> None:
    email = unique_email("cli")
    done = await _orbiter(
        "create-user", "--email", email, "--name", "Ops", "--plan", "pro",
        ORBITER_NEW_PASSWORD=PASSWORD,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert email in done.stdout
    again = await _orbiter("create-user", "--email", email, ORBITER_NEW_PASSWORD=PASSWORD)
    _one_line_error(again, "already exists")
    weak = await _orbiter("create-user", "--email", unique_email("cli"), "--password", "password")
    _one_line_error(weak, "too common")


async def test_a_cli_created_user_can_log_in_with_their_plan(client: AsyncClient) -> None:
    email = unique_email("cli")
    done = await _orbiter(
        "create-user", "--email", email, "--plan", "team", ORBITER_NEW_PASSWORD=PASSWORD
    )
    assert done.returncode == 0, done.stderr
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


async def test_version_and_help_for_every_option() -> None:
    from orbiter.cli import build_parser

    done = await _orbiter("--version")
    assert done.returncode == 0 and done.stdout.strip() == f"orbiter {version('orbiter')}"
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, command in commands.choices.items():
        for action in command._actions:
            assert action.help, f"orbiter {name} {action.dest} has no help"
    assert {c.dest for c in commands._choices_actions} == set(commands.choices)
    assert all(c.help for c in commands._choices_actions)


async def test_migrate_says_from_which_revision_to_which(tmp_path: Path) -> None:
    fresh = {"ORBITER_DATABASE_URL": "", "ORBITER_DATA_DIR": str(tmp_path)}
    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    first = await _orbiter("migrate", **fresh)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"migrated the database from an empty database to {head}"
    again = await _orbiter("migrate", **fresh)
    assert again.stdout.strip() == f"already at head ({head})"
    _one_line_error(await _orbiter("migrate", "no-such-revision", **fresh), "no-such-revision")


async def test_serve_refuses_an_unmigrated_database_with_the_command_to_run(tmp_path: Path) -> None:
    fresh = {"ORBITER_DATABASE_URL": "", "ORBITER_DATA_DIR": str(tmp_path)}
    done = await _orbiter("serve", "--port", "1", **fresh)
    _one_line_error(done, "not migrated", "orbiter migrate")


async def test_an_unreachable_database_is_one_line_with_the_password_masked() -> None:
    url = "postgresql+asyncpg://orbiter:hunter2@127.0.0.1:1/none"
    for args in (("migrate",), ("create-user", "--email", "a@example.com", "--password", PASSWORD)):
        line = _one_line_error(await _orbiter(*args, ORBITER_DATABASE_URL=url), "cannot reach")
        assert "orbiter:***@127.0.0.1:1/none" in line and "hunter2" not in line


async def test_missing_production_settings_are_one_line() -> None:
    env = {"ORBITER_ENVIRONMENT": "production", "ORBITER_SECRET_KEY": "change-me"}
    _one_line_error(await _orbiter("check", **env), "invalid settings", "ORBITER_SECRET_KEY")


async def test_check_reports_each_dependency(migrated: Settings, backend: str) -> None:
    done = await _orbiter("check")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line.split(":")[0] for line in lines] == ["settings", "database", "redis", "blob store"]
    assert lines[0].startswith("settings: ok") and lines[1].startswith("database: ok")
    assert lines[3].startswith("blob store: ok")
    redis = "redis: ok" if backend == "services" else "redis: not configured"
    assert lines[2].startswith(redis)
    down = await _orbiter("check", ORBITER_REDIS_URL="redis://127.0.0.1:1/0")
    assert down.returncode == 1
    assert down.stdout.splitlines()[2].startswith("redis: FAILED")


async def test_rotate_keys_re_encrypts_every_secret_with_the_newest_key(
    app: FastAPI, migrated: Settings, signed_in: Any, fake_llm: Any
) -> None:
    owner = await signed_in()
    project_id = (await owner.api.get("/api/v1/projects")).json()["data"][0]["id"]
    env_vars = f"/api/v1/projects/{project_id}/env-vars"
    for key, value in (("A", "one"), ("B", "two")):
        created = await owner.browser.post(env_vars, json={"key": key, "value": value})
        assert created.status_code == 201, created.text
    provider = await owner.browser.post("/api/v1/providers", json=provider_body(fake_llm))
    assert provider.status_code == 201, provider.text
    tool = await owner.browser.post("/api/v1/tools", json=http_tool(fake_llm))
    assert tool.status_code == 201, tool.text
    alert = {"name": "A", "condition_type": "cost", "condition_threshold": 1}
    assert (await owner.browser.post("/api/v1/alerts", json=alert)).status_code == 201
    deployer = await create_api_key(owner.browser, ["read", "secrets:read"])
    old = (migrated.data_dir / "encryption_keys").read_text().strip()  # the test run's key
    new = new_key_entry("k2")

    refused = await _orbiter("rotate-keys", ORBITER_ENCRYPTION_KEYS=new)
    assert refused.returncode == 1 and "2 not decryptable" in refused.stdout
    assert "tool secret headers: 0 re-encrypted with key k2, 0 already current, 1 not" in (
        refused.stdout
    )
    done = await _orbiter("rotate-keys", ORBITER_ENCRYPTION_KEYS=f"{new},{old}")
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "env var values: 2 re-encrypted with key k2, 0 already current",
        "provider API keys: 1 re-encrypted with key k2, 0 already current",
        "tool secret headers: 1 re-encrypted with key k2, 0 already current",
        "alert webhook secrets: 1 re-encrypted with key k2, 0 already current",
        "infrastructure credentials: 0 re-encrypted with key k2, 0 already current",
        "infrastructure resources: 0 re-encrypted with key k2, 0 already current",
    ]
    again = await _orbiter("rotate-keys", ORBITER_ENCRYPTION_KEYS=f"{new},{old}")
    assert "0 re-encrypted with key k2, 2 already current" in again.stdout

    only_new = create_app(migrated.model_copy(update={"encryption_keys": [new]}))
    async with LifespanManager(only_new), new_client(only_new, **{"X-API-Key": deployer}) as cli:
        values = (await cli.get(f"{env_vars}/values")).json()["variables"]
        providers_env = (await cli.get("/api/v1/providers/env")).json()
        kept = http_tool(fake_llm)["config"]
        kept["headers"] = [{"name": "Authorization", "secret": True}]
        async with new_client(only_new, **{"X-API-Key": owner.api_key}) as writer:
            reopened = await writer.put(f"/api/v1/tools/{tool.json()['id']}", json={"config": kept})
    assert reopened.status_code == 200, reopened.text  # the kept secret opened with the new key
    assert reopened.json()["config"]["headers"][0]["value"] == "••••9876"
    assert {v["key"]: v["value"] for v in values} == {"A": "one", "B": "two"}
    assert "sk-test-key-1234abcd" in str(providers_env)
