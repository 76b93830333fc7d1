"""Fixtures: one migrated database per run, a fresh state per test, clients per auth method.

The backend comes from the environment `scripts/run_tests.py` sets: embedded (SQLite, memory,
local blobs) or services (PostgreSQL, Redis, S3). The same tests run on both.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy import delete

from orbiter.core.settings import Settings, get_settings
from orbiter.main import create_app
from orbiter.models import Base
from orbiter.runtime.resources import Resources
from tests.helpers import BASE_URL, SignedIn, SignedInFactory, browser_for, sign_in_everywhere
from tests.state import wipe_shared_state

pytest_plugins = [
    "tests.fakes.llm_servers",  # fake_llm, fake_llm_servers
    "tests.fakes.google",  # fake_google, google_app
    "tests.workers",  # run_worker
]

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def settings() -> Iterator[Settings]:
    os.environ.setdefault("ORBITER_ENVIRONMENT", "test")
    # The fake LLM servers listen on loopback; the SSRF refusal tests switch this off.
    os.environ.setdefault("ORBITER_ALLOW_PRIVATE_URLS", "true")
    # GitHub is never reached from tests: a loopback port nobody serves, unless a test points
    # the settings at its fake GitHub (tests/fakes/github.py).
    os.environ.setdefault("ORBITER_GITHUB_API_URL", "http://127.0.0.1:9")
    with tempfile.TemporaryDirectory(prefix="orbiter-test-") as tmp:
        os.environ.setdefault("ORBITER_DATA_DIR", tmp)
        get_settings.cache_clear()
        yield get_settings()


@pytest.fixture(scope="session")
def migrated(settings: Settings) -> Settings:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    # In a thread of its own: the async env.py calls asyncio.run(), which cannot run inside
    # the event loop of whichever async fixture first asks for the database.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, config, "head").result()
    return settings


@pytest.fixture(scope="session")
async def app(migrated: Settings) -> AsyncIterator[FastAPI]:
    application = create_app(migrated)
    async with LifespanManager(application):
        yield application


@pytest.fixture
def resources(app: FastAPI) -> Resources:
    res: Resources = app.state.resources
    return res


@pytest.fixture(autouse=True)
async def _fresh_state(app: FastAPI) -> AsyncIterator[None]:
    """Every test leaves empty tables, no sessions and fresh rate-limit counters behind.

    It asks for `app` by name (not dynamically) so the app and its migrated database are set
    up before any test, whichever file runs first.
    """
    res: Resources = app.state.resources
    yield
    async with res.sessionmaker() as db:
        for table in reversed(Base.metadata.sorted_tables):
            await db.execute(delete(table))
        await db.commit()
    await wipe_shared_state(res)


@pytest.fixture
def no_grace(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    """Blob gc without its grace period: whatever nothing references is collectable at once."""
    monkeypatch.setattr(resources.settings, "gc_grace_seconds", 0)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(transport=ASGITransport(app=app), base_url=BASE_URL) as c:
        yield c


@pytest.fixture
def backend() -> str:
    return os.environ.get("ORBITER_TEST_BACKEND", "embedded")


@pytest.fixture
async def browser(app: FastAPI) -> AsyncIterator[AsyncClient]:
    """A freshly registered user's cookie client, sending its CSRF token."""
    signed_in, _ = await browser_for(app)
    try:
        yield signed_in
    finally:
        await signed_in.aclose()


@pytest.fixture
async def signed_in(app: FastAPI) -> AsyncIterator[SignedInFactory]:
    """Make users signed in all three ways; their clients are closed after the test."""
    made: list[SignedIn] = []

    async def make() -> SignedIn:
        made.append(await sign_in_everywhere(app))
        return made[-1]

    yield make
    for user in made:
        await user.aclose()
