"""The /device page in a real browser: a CLI asks, the user signs in and approves, the CLI polls."""

from __future__ import annotations

import pytest
from httpx import AsyncClient
from playwright.async_api import expect

from tests.browser.conftest import Watched
from tests.helpers import PASSWORD

pytestmark = pytest.mark.browser

GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def test_a_signed_in_user_approves_the_cli_that_asked(
    live_server: str, chromium: Watched, email: str
) -> None:
    async with AsyncClient(base_url=live_server) as cli:
        started = await cli.post("/api/v1/oauth/device", data={"client_id": "orbiter-cli 1.2"})
        assert started.status_code == 200, started.text
        flow = started.json()

        page = chromium.page
        await page.goto(flow["verification_uri"])  # the user types the code themselves
        await page.get_by_placeholder("Email").fill(email)
        await page.get_by_placeholder("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.locator("#who")).to_have_text(email)

        await page.get_by_label("Code").fill(flow["user_code"].lower())
        await page.get_by_role("button", name="Continue").click()
        await expect(page.locator("#client")).to_have_text("orbiter-cli 1.2")
        await expect(page.locator("#as")).to_have_text(email)
        await page.get_by_role("button", name="Approve").click()
        await expect(page.get_by_role("status")).to_contain_text("Device approved")

        polled = await cli.post(
            "/api/v1/oauth/token", data={"grant_type": GRANT, "device_code": flow["device_code"]}
        )
        assert polled.status_code == 200, polled.text
        token = polled.json()["access_token"]
        me = await cli.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["email"] == email

    assert await chromium.csp_violations() == []
    assert chromium.console_errors == []
    # The one refusal is the page asking whether anyone is signed in yet.
    assert chromium.error_responses == [f"401 GET {live_server}/api/v1/auth/me"]
    assert chromium.offsite_requests() == []


async def test_the_device_page_signs_out(live_server: str, chromium: Watched, email: str) -> None:
    page = chromium.page
    await page.goto(f"{live_server}/device?user_code=BCDF-GHJK")
    await page.get_by_placeholder("Email").fill(email)
    await page.get_by_placeholder("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await expect(page.get_by_label("Code")).to_have_value("BCDF-GHJK")
    await expect(page.locator("#who")).to_have_text(email)

    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    await expect(page.locator("#account")).to_be_hidden()
    cookies = {c["name"] for c in await page.context.cookies()}
    assert cookies.isdisjoint({"orbiter_session", "orbiter_csrf"})
    assert (await page.request.get(f"{live_server}/api/v1/auth/me")).status == 401
