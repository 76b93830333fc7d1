"""Swagger UI and ReDoc in a real browser: offline, within their CSP, and usable for writes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from httpx import AsyncClient
from playwright.async_api import Locator, Page, expect

from tests.browser.conftest import Watched
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser
RENDER_TIMEOUT_MS = 180_000


@pytest.mark.parametrize(
    ("path", "rendered"),
    [
        ("/docs", "#swagger-ui .info .title"),
        ("/redoc", "#redoc h1"),
    ],
)
async def test_docs_render_from_this_server_alone(
    live_server: str, chromium: Watched, path: str, rendered: str
) -> None:
    await chromium.page.goto(live_server + path)
    # ReDoc lays out the whole document (1.4 MB, every operation) before it shows anything: on
    # two cores shared by four test shards that took over 30 s.
    await expect(chromium.page.locator(rendered).first).to_contain_text(
        "Orbiter", timeout=RENDER_TIMEOUT_MS
    )
    await chromium.page.wait_for_load_state("networkidle")

    assert chromium.offsite_requests() == []
    assert await chromium.csp_violations() == []
    assert chromium.console_errors == []
    assert chromium.error_responses == []
    assert f"{live_server}/openapi.json" in chromium.requests


async def _try_it_out(page: Page, operation_id: str, body: dict[str, Any]) -> Locator:
    """Swagger's own way: open the operation, Try it out, type the JSON body, Execute."""
    block = page.locator(f"#operations-{operation_id}")
    await block.locator(".opblock-summary").first.click()
    await block.get_by_role("button", name="Try it out").click()
    await block.locator("textarea.body-param__text").fill(json.dumps(body))
    await block.get_by_role("button", name="Execute").click()
    return block.locator(".live-responses-table .response .response-col_status").first


async def test_swagger_signs_in_then_creates_a_project_and_an_api_key(
    live_server: str, chromium: Watched, email: str
) -> None:
    page = chromium.page
    await page.goto(f"{live_server}/docs")

    login = await _try_it_out(page, "auth-auth-login", {"email": email, "password": PASSWORD})
    await expect(login).to_have_text("200")
    project = await _try_it_out(page, "projects-projects-create", {"name": "From Swagger"})
    await expect(project).to_have_text("201")
    key = await _try_it_out(page, "api-keys-api-keys-create", {"name": "swagger key"})
    await expect(key).to_have_text("201")

    async with AsyncClient(base_url=live_server) as http:
        signed_in = await http.post(
            "/api/v1/auth/login", json={"email": email, "password": PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        projects = (await http.get("/api/v1/projects")).json()["data"]
        keys = (await http.get("/api/v1/api-keys")).json()["data"]
    assert "From Swagger" in [p["name"] for p in projects]
    assert [k["name"] for k in keys] == ["swagger key"]
    assert await chromium.csp_violations() == []
    assert chromium.offsite_requests() == []
