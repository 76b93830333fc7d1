"""Cookie sessions: attributes, rotation, CSRF, Origin, expiry, listing and revocation."""

from __future__ import annotations

import asyncio
import json

from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.settings import Settings
from orbiter.main import create_app
from orbiter.runtime.resources import Resources
from tests.helpers import PASSWORD, assert_error, browser_for, new_client, register, unique_email

LOGIN = "/api/v1/auth/login"


async def test_cookie_is_httponly_lax_signed_and_long(client: AsyncClient) -> None:
    email = await register(client)
    response = await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    header = response.headers["set-cookie"]
    assert "HttpOnly" in header and "SameSite=lax" in header and "Path=/" in header
    assert "Secure" not in header  # not configured here
    value = response.cookies["orbiter_session"]
    raw_id, _, signature = value.rpartition(".")
    assert len(raw_id) >= 22 and signature  # ≥128 random bits, plus a signature


async def test_secure_cookie_when_configured(migrated: Settings) -> None:
    app = create_app(migrated.model_copy(update={"cookie_secure": True}))
    async with LifespanManager(app), new_client(app) as c:
        email = await register(c)
        response = await c.post(LOGIN, json={"email": email, "password": PASSWORD})
        assert "Secure" in response.headers["set-cookie"]


async def test_a_tampered_cookie_is_refused(client: AsyncClient) -> None:
    email = await register(client)
    await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    value = client.cookies["orbiter_session"]
    client.cookies.set("orbiter_session", value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    assert_error(await client.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


async def test_every_login_gets_a_new_session_id_and_the_old_one_dies(client: AsyncClient) -> None:
    email = await register(client)
    await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    first = client.cookies["orbiter_session"]
    await client.post(LOGIN, json={"email": email, "password": PASSWORD})
    second = client.cookies["orbiter_session"]
    assert first != second
    async with AsyncClient(transport=client._transport, base_url="http://testserver") as replay:
        replay.cookies.set("orbiter_session", first)
        assert_error(await replay.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")


async def test_writes_by_cookie_need_the_csrf_token(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    token = browser.headers.pop("X-CSRF-Token")
    assert_error(await browser.post("/api/v1/projects", json={"name": "x"}), 403, "FORBIDDEN")
    wrong = await browser.post(
        "/api/v1/projects", json={"name": "x"}, headers={"X-CSRF-Token": "wrong"}
    )
    assert_error(wrong, 403, "FORBIDDEN")
    assert (await browser.get("/api/v1/auth/csrf")).json()["csrf_token"] == token
    ok = await browser.post("/api/v1/projects", json={"name": "x"}, headers={"X-CSRF-Token": token})
    assert ok.status_code == 201
    names = [p["name"] for p in (await browser.get("/api/v1/projects")).json()["data"]]
    assert names.count("x") == 1
    await browser.aclose()


async def test_the_csrf_token_is_bound_to_its_session(app: FastAPI) -> None:
    alice, _ = await browser_for(app)
    bob, _ = await browser_for(app)
    stolen = bob.headers["X-CSRF-Token"]
    refused = await alice.post(
        "/api/v1/projects", json={"name": "x"}, headers={"X-CSRF-Token": stolen}
    )
    assert_error(refused, 403, "FORBIDDEN")
    await alice.aclose()
    await bob.aclose()


async def test_cookie_writes_from_a_foreign_origin_are_refused(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    evil = await browser.post(
        "/api/v1/projects", json={"name": "x"}, headers={"Origin": "https://evil.example"}
    )
    assert_error(evil, 403, "FORBIDDEN")
    same = await browser.post(
        "/api/v1/projects", json={"name": "y"}, headers={"Origin": "http://testserver"}
    )
    assert same.status_code == 201
    names = [p["name"] for p in (await browser.get("/api/v1/projects")).json()["data"]]
    assert "x" not in names
    await browser.aclose()


async def test_login_from_a_foreign_origin_is_refused(client: AsyncClient) -> None:
    email = await register(client)
    response = await client.post(
        LOGIN,
        json={"email": email, "password": PASSWORD},
        headers={"Origin": "https://evil.example"},
    )
    assert_error(response, 403, "FORBIDDEN")


async def test_anonymous_csrf_token_is_accepted_by_login_and_a_forged_one_is_not(
    client: AsyncClient,
) -> None:
    email = await register(client)
    client.cookies.clear()
    token = (await client.get("/api/v1/auth/csrf")).json()["csrf_token"]
    ok = await client.post(
        LOGIN, json={"email": email, "password": PASSWORD}, headers={"X-CSRF-Token": token}
    )
    assert ok.status_code == 200
    client.cookies.clear()
    forged = await client.post(
        LOGIN, json={"email": email, "password": PASSWORD}, headers={"X-CSRF-Token": "forged"}
    )
    assert_error(forged, 403, "FORBIDDEN")


async def _session_record(resources: Resources, session_id: str) -> dict[str, str]:
    raw = await resources.kv.get(f"session:{session_id}")
    assert raw is not None
    return json.loads(raw)  # type: ignore[no-any-return]


async def test_sessions_are_listed_and_one_can_be_revoked(
    app: FastAPI, resources: Resources
) -> None:
    email = unique_email()
    laptop, _ = await browser_for(app, email)
    phone, _ = await browser_for(app, email)
    listed = (await laptop.get("/api/v1/auth/sessions")).json()
    browsers = [s for s in listed["data"] if s["kind"] == "browser"]
    assert len(browsers) == 2 and listed["pagination"]["total"] == 2
    current = [s for s in browsers if s["current"]]
    other = next(s for s in browsers if not s["current"])
    assert len(current) == 1
    assert (await laptop.delete(f"/api/v1/auth/sessions/{other['id']}")).status_code == 204
    assert_error(await phone.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    assert (await laptop.get("/api/v1/auth/me")).status_code == 200
    assert_error(
        await laptop.delete(f"/api/v1/auth/sessions/{other['id']}"), 404, "RESOURCE_NOT_FOUND"
    )
    await laptop.aclose()
    await phone.aclose()


async def test_a_session_past_its_absolute_expiry_is_refused(
    app: FastAPI, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    session_id = (await browser.get("/api/v1/auth/sessions")).json()["data"][0]["id"]
    record = await _session_record(resources, session_id)
    record["expires_at"] = "2000-01-01T00:00:00+00:00"
    await resources.kv.put(f"session:{session_id}", json.dumps(record), 60)
    assert_error(await browser.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
    assert await resources.kv.get(f"session:{session_id}") is None
    await browser.aclose()


async def test_an_idle_session_expires(migrated: Settings) -> None:
    app = create_app(migrated.model_copy(update={"session_idle_seconds": 1}))
    async with LifespanManager(app):
        browser, _ = await browser_for(app)
        assert (await browser.get("/api/v1/auth/me")).status_code == 200
        await asyncio.sleep(2.1)
        assert_error(await browser.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
        await browser.aclose()
