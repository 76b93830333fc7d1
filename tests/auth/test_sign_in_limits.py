"""The failed-login and wrong user-code limits hold when the attempts arrive all at once:
each attempt is reserved before the password or code is checked, never counted after."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient, Response

from orbiter.auth import passwords
from orbiter.runtime.resources import Resources
from tests.helpers import PASSWORD, assert_error, browser_for, new_client, register

LOGIN = "/api/v1/auth/login"
AUTHORIZE = "/api/v1/oauth/device/authorize"
ATTEMPTS = 28


@pytest.fixture(autouse=True)
def _limits_on(resources: Resources) -> None:
    if not resources.limiter.enabled:
        pytest.skip("rate limits are disabled in this environment")


@pytest.fixture
def verifier_calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password the server checked against a stored hash."""
    calls: list[str] = []
    original = passwords.verify_password

    async def counting(password: str, password_hash: str | None) -> tuple[bool, str | None]:
        calls.append(password)
        return await original(password, password_hash)

    monkeypatch.setattr(passwords, "verify_password", counting)
    return calls


def statuses(responses: list[Response]) -> dict[int, int]:
    found: dict[int, int] = {}
    for response in responses:
        found[response.status_code] = found.get(response.status_code, 0) + 1
    return found


async def test_28_simultaneous_wrong_passwords_check_at_most_10(
    client: AsyncClient, verifier_calls: list[str]
) -> None:
    email = await register(client, prefix="target")
    responses = await asyncio.gather(
        *(
            client.post(LOGIN, json={"email": email, "password": f"wrong guess {i}"})
            for i in range(ATTEMPTS)
        )
    )
    assert len(verifier_calls) <= 10, len(verifier_calls)
    assert statuses(list(responses)) == {
        401: len(verifier_calls),
        429: ATTEMPTS - len(verifier_calls),
    }
    for response in responses:
        if response.status_code == 429:
            assert_error(response, 429, "RATE_LIMITED")
            assert int(response.headers["Retry-After"]) > 60
    # The account is now locked for the window, even with the right password.
    locked = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    assert_error(locked, 429, "RATE_LIMITED")
    assert len(verifier_calls) <= 10


async def test_a_correct_password_gives_its_attempt_back_but_clears_no_failures(
    client: AsyncClient, verifier_calls: list[str]
) -> None:
    email = await register(client, prefix="target")

    async def wrong() -> Response:
        return await client.post(LOGIN, json={"email": email, "password": "not the password"})

    for _ in range(9):
        assert (await wrong()).status_code == 401
    for _ in range(2):  # successes do not count as failures
        ok = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert ok.status_code == 200, ok.text
    assert (await wrong()).status_code == 401  # the 10th failure
    assert_error(await wrong(), 429, "RATE_LIMITED")  # and no more: nothing was cleared
    assert len(verifier_calls) == 12


async def _device_codes(app: FastAPI) -> dict[str, Any]:
    async with new_client(app) as cli:
        start = await cli.post("/api/v1/oauth/device", data={"client_id": "cli"})
        assert start.status_code == 200, start.text
        return start.json()  # type: ignore[no-any-return]


def _wrong(code: str) -> str:
    return ("B" if code[0] != "B" else "C") + code[1:]


async def test_28_simultaneous_wrong_user_codes_check_at_most_10(
    app: FastAPI, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    codes = await _device_codes(app)
    responses = list(
        await asyncio.gather(
            *(
                browser.post(AUTHORIZE, json={"user_code": _wrong(codes["user_code"])})
                for _ in range(ATTEMPTS)
            )
        )
    )
    found = statuses(responses)
    assert found.get(404, 0) <= 10 and found.get(404, 0) + found.get(429, 0) == ATTEMPTS, found
    right = await browser.post(AUTHORIZE, json={"user_code": codes["user_code"]})
    assert_error(right, 429, "RATE_LIMITED")
    await browser.aclose()


async def test_a_right_user_code_is_not_counted_as_a_wrong_one(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    send: Callable[[str], Awaitable[Response]] = lambda code: browser.post(  # noqa: E731
        AUTHORIZE, json={"user_code": code}
    )
    for _ in range(9):
        assert (await send(_wrong((await _device_codes(app))["user_code"]))).status_code == 404
    for _ in range(3):
        approved = await send((await _device_codes(app))["user_code"])
        assert approved.status_code == 200, approved.text
    assert (await send("BBBB-BBBB")).status_code == 404
    assert_error(await send("BBBB-BBBB"), 429, "RATE_LIMITED")
    await browser.aclose()
