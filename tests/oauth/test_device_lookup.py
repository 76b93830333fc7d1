"""Before approving, the signed-in user sees which client asked: POST /oauth/device/lookup."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.time import utcnow
from orbiter.runtime.resources import Resources
from tests.helpers import assert_error, browser_for, sign_in_everywhere

DEVICE = "/api/v1/oauth/device"
LOOKUP = "/api/v1/oauth/device/lookup"
TOKEN = "/api/v1/oauth/token"
GRANT = "urn:ietf:params:oauth:grant-type:device_code"


async def _start(client: AsyncClient, **params: str) -> dict[str, str]:
    response = await client.post(DEVICE, data=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _wrong(code: str) -> str:
    return "BBBB-BBBB" if code != "BBBB-BBBB" else "CCCC-CCCC"


async def test_lookup_shows_the_client_and_changes_nothing(
    app: FastAPI, client: AsyncClient
) -> None:
    codes = await _start(client, client_id="orbiter-cli 1.2", scope="projects")
    browser, _ = await browser_for(app)
    shown = await browser.post(LOOKUP, json={"user_code": codes["user_code"].lower()})
    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["user_code"] == codes["user_code"]
    assert body["client_id"] == "orbiter-cli 1.2" and "scope" not in body
    expires = datetime.fromisoformat(body["expires_at"].replace("Z", "+00:00"))
    assert utcnow() < expires <= utcnow() + timedelta(seconds=900)
    polled = await client.post(
        TOKEN, data={"grant_type": GRANT, "device_code": codes["device_code"]}
    )
    assert polled.status_code == 400 and polled.json()["error"] == "authorization_pending"
    await browser.aclose()


async def test_a_client_without_an_id_is_shown_as_cli(app: FastAPI, client: AsyncClient) -> None:
    codes = await _start(client)
    browser, _ = await browser_for(app)
    shown = await browser.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert shown.json()["client_id"] == "cli"
    await browser.aclose()


async def test_lookup_needs_a_browser_session(app: FastAPI, client: AsyncClient) -> None:
    codes = await _start(client)
    anonymous = await client.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert_error(anonymous, 401, "UNAUTHORIZED")
    user = await sign_in_everywhere(app)
    by_key = await user.api.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert_error(by_key, 403, "FORBIDDEN")
    by_token = await user.cli.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert_error(by_token, 403, "FORBIDDEN")
    by_browser = await user.browser.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert by_browser.status_code == 200, by_browser.text
    no_csrf = await user.browser.post(
        LOOKUP, json={"user_code": codes["user_code"]}, headers={"X-CSRF-Token": ""}
    )
    assert_error(no_csrf, 403, "FORBIDDEN")
    await user.aclose()


async def test_wrong_lookups_count_as_code_guesses(
    app: FastAPI, client: AsyncClient, resources: Resources
) -> None:
    codes = await _start(client)
    browser, _ = await browser_for(app)
    wrong = await browser.post(LOOKUP, json={"user_code": _wrong(codes["user_code"])})
    assert_error(wrong, 404, "RESOURCE_NOT_FOUND")
    if not resources.limiter.enabled:
        pytest.skip("rate limits are disabled in this environment")
    for _ in range(resources.settings.rate_limit_user_code_guesses - 1):
        await browser.post(LOOKUP, json={"user_code": _wrong(codes["user_code"])})
    limited = await browser.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert_error(limited, 429, "RATE_LIMITED")
    approve = await browser.post(
        "/api/v1/oauth/device/authorize", json={"user_code": codes["user_code"]}
    )
    assert_error(approve, 429, "RATE_LIMITED")
    await browser.aclose()


async def test_a_decided_code_is_no_longer_shown(app: FastAPI, client: AsyncClient) -> None:
    codes = await _start(client)
    browser, _ = await browser_for(app)
    denied = await browser.post("/api/v1/oauth/device/deny", json={"user_code": codes["user_code"]})
    assert denied.status_code == 200, denied.text
    gone = await browser.post(LOOKUP, json={"user_code": codes["user_code"]})
    assert_error(gone, 404, "RESOURCE_NOT_FOUND")
    await browser.aclose()
