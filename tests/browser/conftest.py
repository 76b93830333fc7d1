"""Real-browser fixtures: `orbiter serve` on a loopback port, and Chromium driven by Playwright.

The server is a subprocess with this run's environment, so it uses the test database and
backend (SQLite or PostgreSQL + Redis + S3). Chromium is Debian's `/usr/bin/chromium`
(`scripts/run_tests.py` installs it with apt-get when run as root); the tests are skipped,
saying why, only when it or the `playwright` package is missing.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from httpx import AsyncClient

from orbiter.core.settings import Settings
from tests.helpers import register
from tests.live import live_orbiter

if TYPE_CHECKING:
    from playwright.async_api import ConsoleMessage, Page, Playwright, Request, Response

CHROMIUM = Path(os.environ.get("ORBITER_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
WAIT_MS = 30_000  # for actions and expectations: two shared cores render ReDoc slowly

# Collects every security-policy violation, including those the console would not show.
WATCH_CSP = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", e => window.__cspViolations.push(
  e.violatedDirective + " " + e.blockedURI));
"""


def _why_unavailable() -> str | None:
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing: pip install -e '.[dev]'"
    if not CHROMIUM.is_file():
        return (
            f"Chromium is not installed at {CHROMIUM}: install Debian's `chromium` package "
            "(scripts/run_tests.py does it with apt-get when run as root)"
        )
    return None


@pytest.fixture(scope="session")
def live_server(migrated: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`orbiter serve` on a free loopback port, on this run's database and backend."""
    if reason := _why_unavailable():
        pytest.skip(reason)
    with live_orbiter(tmp_path_factory.mktemp("live")) as server:
        yield server.base_url


@pytest.fixture
async def email(live_server: str) -> str:
    """A fresh account on the live server (password `tests.helpers.PASSWORD`), not signed in."""
    async with AsyncClient(base_url=live_server) as http:
        return await register(http, prefix="browser")


@pytest.fixture(scope="session")
async def playwright_driver() -> AsyncIterator[Playwright]:
    if reason := _why_unavailable():
        pytest.skip(reason)
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=WAIT_MS)
    async with async_playwright() as driver:
        yield driver


@dataclass
class Watched:
    """A page in a fresh Chromium profile, and everything it asked for or complained about."""

    page: Page
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)  # HTTP error statuses: see below
    error_responses: list[str] = field(default_factory=list)  # "401 GET http://..."

    def offsite_requests(self) -> list[str]:
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme in {"http", "https", "ws", "wss"}
            and urlsplit(url).hostname not in LOOPBACK
        ]

    async def csp_violations(self) -> list[str]:
        reported = await self.page.evaluate("window.__cspViolations")
        assert isinstance(reported, list), "the violation watcher did not run on this page"
        logged = [text for text in self.console_errors if "Content Security Policy" in text]
        return reported + logged

    def on_request(self, request: Request) -> None:
        self.requests.append(request.url)

    def on_response(self, response: Response) -> None:
        if response.status >= 400:
            request = response.request
            self.error_responses.append(f"{response.status} {request.method} {request.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        # Chromium also logs every 4xx/5xx response; those are in error_responses instead.
        http_status = message.text.startswith("Failed to load resource: the server responded")
        if message.type in {"error", "warning"} and not http_status:
            self.console_errors.append(message.text)

    def on_page_error(self, error: Any) -> None:
        self.console_errors.append(f"uncaught: {error}")


@pytest.fixture
async def chromium(playwright_driver: Playwright, tmp_path: Path) -> AsyncIterator[Watched]:
    """A page in Chromium with its own, fresh user-data-dir, watched for requests and errors."""
    context = await playwright_driver.chromium.launch_persistent_context(
        str(tmp_path / "chromium-profile"),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
    )
    try:
        context.set_default_timeout(WAIT_MS)
        await context.add_init_script(WATCH_CSP)
        page = context.pages[0] if context.pages else await context.new_page()
        watched = Watched(page)
        context.on("request", watched.on_request)  # workers too
        context.on("response", watched.on_response)
        page.on("console", watched.on_console)
        page.on("pageerror", watched.on_page_error)
        yield watched
    finally:
        with contextlib.suppress(Exception):
            await context.close()
