"""Rate limits of API.md §1.4: headers, 429s, sign-in limits, the switch, and Redis outages."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.auth.browser_sessions import session_store
from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import (
    PASSWORD,
    assert_error,
    browser_for,
    create_api_key,
    new_client,
    register,
    unique_email,
)
from tests.state import fresh_rate_limits

DOWN_REDIS = "redis://127.0.0.1:1/0"  # nothing listens there


async def test_every_response_carries_rate_limit_headers(client: AsyncClient) -> None:
    for response in (await client.get("/health"), await client.get("/api/v1/nope")):
        assert int(response.headers["RateLimit-Limit"]) == 60
        assert 0 <= int(response.headers["RateLimit-Remaining"]) < 60
        assert 0 <= int(response.headers["RateLimit-Reset"]) <= 60


async def test_the_general_limit_is_per_user_and_answers_429_with_retry_after(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)
    async with new_client(app, **{"X-API-Key": key}) as api:
        remaining = int((await api.get("/api/v1/auth/me")).headers["RateLimit-Remaining"])
        for _ in range(remaining):
            assert (await api.get("/api/v1/auth/me")).status_code == 200
        limited = await api.get("/api/v1/auth/me")
        error = assert_error(limited, 429, "RATE_LIMITED")
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.headers["RateLimit-Remaining"] == "0"
        assert error["message"]
    async with new_client(app) as anonymous:  # another principal keeps its own budget
        assert (await anonymous.get("/health")).status_code == 200
    await browser.aclose()


async def test_concurrent_requests_get_exactly_the_limit_and_every_one_its_headers(
    app: FastAPI,
) -> None:
    """200 requests at once from one user with a 60/min limit: 60 pass, 140 are 429, none
    slips through uncounted (without headers) and no session lookup fails (503)."""
    browser, _ = await browser_for(app)
    await fresh_rate_limits(app.state.resources)  # a fresh window, whatever signing in counted
    responses = await asyncio.gather(*(browser.get("/api/v1/auth/me") for _ in range(200)))
    statuses = [r.status_code for r in responses]
    assert statuses.count(200) == 60 and statuses.count(429) == 140, sorted(set(statuses))
    for response in responses:
        assert response.headers["RateLimit-Limit"] == "60"
        assert 0 <= int(response.headers["RateLimit-Remaining"]) < 60
    remaining = sorted(int(r.headers["RateLimit-Remaining"]) for r in responses)
    assert remaining[-60:] == list(range(60))  # each allowed request saw its own count
    assert app.state.resources.limiter.errors == 0
    await browser.aclose()


async def test_failed_logins_are_limited_per_account(client: AsyncClient) -> None:
    email = await register(client)
    for _ in range(10):
        bad = await client.post(
            "/api/v1/auth/login", json={"email": email, "password": "wrong-password"}
        )
        assert bad.status_code == 401
    locked = await client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert_error(locked, 429, "RATE_LIMITED")
    assert int(locked.headers["Retry-After"]) > 60  # a 15-minute window
    other = await register(client)
    assert (
        await client.post("/api/v1/auth/login", json={"email": other, "password": PASSWORD})
    ).status_code == 200


async def test_sign_in_requests_are_limited_per_client_ip(migrated: Settings) -> None:
    app = create_app(migrated.model_copy(update={"rate_limit_auth_per_ip": 3}))
    async with LifespanManager(app), new_client(app) as client:
        for _ in range(3):
            response = await client.post(
                "/api/v1/auth/login", json={"email": unique_email(), "password": "x"}
            )
            assert response.status_code == 401
        limited = await client.post("/api/v1/oauth/device", data={})
        assert_error(limited, 429, "RATE_LIMITED")
        assert limited.headers["RateLimit-Limit"] == "3"


async def test_forwarded_for_is_only_trusted_from_a_configured_proxy(migrated: Settings) -> None:
    limits = {"rate_limit_auth_per_ip": 1}
    trusting = create_app(
        migrated.model_copy(update={**limits, "trusted_proxies": ["127.0.0.1/32"]})
    )
    async with LifespanManager(trusting), new_client(trusting) as client:
        for ip in ("203.0.113.1", "203.0.113.2"):  # different clients behind the proxy
            response = await client.post(
                "/api/v1/oauth/device", data={}, headers={"X-Forwarded-For": ip}
            )
            assert response.status_code == 200
    untrusting = create_app(migrated.model_copy(update=limits))
    async with LifespanManager(untrusting), new_client(untrusting) as client:
        await fresh_rate_limits(untrusting.state.resources)
        first = await client.post(
            "/api/v1/oauth/device", data={}, headers={"X-Forwarded-For": "203.0.113.3"}
        )
        spoofed = await client.post(
            "/api/v1/oauth/device", data={}, headers={"X-Forwarded-For": "203.0.113.4"}
        )
        assert first.status_code == 200
        assert_error(spoofed, 429, "RATE_LIMITED")


async def test_limits_can_be_switched_off(migrated: Settings) -> None:
    app = create_app(migrated.model_copy(update={"rate_limits_enabled": False}))
    async with LifespanManager(app), new_client(app) as client:
        response = await client.get("/health")
        assert response.status_code == 200 and "RateLimit-Limit" not in response.headers


async def test_when_redis_is_down_sign_in_fails_closed_and_nothing_is_a_500(
    migrated: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(migrated.model_copy(update={"redis_url": DOWN_REDIS}))
    caplog.set_level(logging.WARNING, logger="orbiter.core.ratelimit")
    async with LifespanManager(app), new_client(app) as client:
        login = await client.post(
            "/api/v1/auth/login", json={"email": unique_email(), "password": PASSWORD}
        )
        assert_error(login, 503, "SERVICE_UNAVAILABLE")
        device = await client.post("/api/v1/oauth/device", data={})
        assert_error(device, 503, "SERVICE_UNAVAILABLE")
        errors = app.state.resources.limiter.errors
        schema = await client.get("/openapi.json")  # general limiter fails open by default
        assert schema.status_code == 200 and "RateLimit-Limit" not in schema.headers
        # ... but not silently: every store error is counted and logged.
        assert app.state.resources.limiter.errors == errors + 1
        warnings = [r for r in caplog.records if r.name == "orbiter.core.ratelimit"]
        assert len(warnings) == app.state.resources.limiter.errors
        assert all(r.levelno == logging.WARNING for r in warnings)
        signed = session_store(app.state.resources).cookie_value("a-session-id-that-looks-real")
        client.cookies.set("orbiter_session", signed)
        assert_error(await client.get("/api/v1/auth/me"), 503, "SERVICE_UNAVAILABLE")


async def test_the_general_limiter_can_fail_closed(migrated: Settings) -> None:
    update = {"redis_url": DOWN_REDIS, "rate_limit_general_on_outage": "closed"}
    app = create_app(migrated.model_copy(update=update))
    async with LifespanManager(app), new_client(app) as client:
        assert_error(await client.get("/health"), 503, "SERVICE_UNAVAILABLE")
