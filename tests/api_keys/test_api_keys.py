"""API keys for CI: created once, stored as a hash, scoped, expiring, revocable; /ci/whoami."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.security import hash_secret
from orbiter.core.time import utcnow
from orbiter.models import ApiKey
from orbiter.runtime.resources import Resources
from tests.helpers import (
    assert_error,
    browser_for,
    create_api_key,
    new_client,
    sign_in_everywhere,
)

KEYS = "/api/v1/api-keys"


async def _create(browser: AsyncClient, **body: Any) -> dict[str, Any]:
    response = await browser.post(KEYS, json={"name": "ci", **body})
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def _stored(resources: Resources, key_id: str) -> ApiKey | None:
    async with resources.sessionmaker() as db:
        return await db.get(ApiKey, uuid.UUID(key_id))


async def test_create_returns_the_key_once_with_its_prefix_and_default_scopes(
    app: FastAPI, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    response = await browser.post(KEYS, json={"name": "deploy bot"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {
        "id",
        "name",
        "prefix",
        "scopes",
        "expires_at",
        "last_used_at",
        "created_at",
        "key",
    }
    assert body["name"] == "deploy bot"
    assert body["key"].startswith("orb_") and len(body["key"]) >= 40
    assert body["prefix"] == body["key"][:12]
    assert body["scopes"] == ["read", "write"]
    assert body["expires_at"] is None and body["last_used_at"] is None

    stored = await _stored(resources, body["id"])
    assert stored is not None
    assert stored.key_hash == hash_secret(body["key"])
    assert body["key"] not in (stored.key_hash, stored.prefix, stored.name)
    await browser.aclose()


async def test_the_key_is_never_listed(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    created = await _create(browser)
    listed = await browser.get(KEYS)
    assert listed.status_code == 200, listed.text
    assert created["key"] not in listed.text
    [item] = listed.json()["data"]
    assert "key" not in item
    assert item["id"] == created["id"] and item["prefix"] == created["prefix"]
    assert listed.json()["pagination"] == {"next_cursor": None, "has_more": False, "total": 1}
    await browser.aclose()


async def test_the_key_authenticates_and_records_last_use(app: FastAPI) -> None:
    browser, user = await browser_for(app)
    created = await _create(browser)
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        me = await ci.get("/api/v1/auth/me")
        assert me.status_code == 200, me.text
        assert me.json()["id"] == user["id"]
    [item] = (await browser.get(KEYS)).json()["data"]
    assert item["last_used_at"] is not None
    last_used = datetime.fromisoformat(item["last_used_at"])
    assert last_used >= datetime.fromisoformat(created["created_at"])
    await browser.aclose()


async def test_keys_are_listed_newest_first_across_pages(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    for name in ("first", "second", "third"):
        await _create(browser, name=name)
    first_page = await browser.get(KEYS, params={"limit": 2})
    assert first_page.status_code == 200, first_page.text
    body = first_page.json()
    assert [k["name"] for k in body["data"]] == ["third", "second"]
    assert body["pagination"]["has_more"] is True and body["pagination"]["total"] == 3
    second_page = await browser.get(
        KEYS, params={"limit": 2, "cursor": body["pagination"]["next_cursor"]}
    )
    assert [k["name"] for k in second_page.json()["data"]] == ["first"]
    assert second_page.json()["pagination"]["has_more"] is False
    assert second_page.json()["pagination"]["next_cursor"] is None
    await browser.aclose()


async def test_keys_are_private_to_their_owner(app: FastAPI) -> None:
    alice, _ = await browser_for(app)
    bob, _ = await browser_for(app)
    created = await _create(alice)
    assert (await bob.get(KEYS)).json()["data"] == []
    assert_error(await bob.delete(f"{KEYS}/{created['id']}"), 404, "RESOURCE_NOT_FOUND")
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        assert (await ci.get("/api/v1/auth/me")).status_code == 200
    await alice.aclose()
    await bob.aclose()


async def test_an_expiry_in_the_past_or_without_timezone_is_refused(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    past = (utcnow() - timedelta(minutes=1)).isoformat()
    error = assert_error(
        await browser.post(KEYS, json={"name": "old", "expires_at": past}), 422, "VALIDATION_ERROR"
    )
    assert error["details"]["fields"][0]["field"] == "expires_at"
    naive = (datetime.now(UTC) + timedelta(days=1)).replace(tzinfo=None).isoformat()
    assert_error(
        await browser.post(KEYS, json={"name": "naive", "expires_at": naive}),
        422,
        "VALIDATION_ERROR",
    )
    assert (await browser.get(KEYS)).json()["data"] == []
    await browser.aclose()


async def test_an_expired_key_is_refused(app: FastAPI, resources: Resources) -> None:
    browser, _ = await browser_for(app)
    expires = utcnow() + timedelta(days=7)
    created = await _create(browser, expires_at=expires.isoformat())
    assert datetime.fromisoformat(created["expires_at"]) == expires
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        assert (await ci.get("/api/v1/auth/me")).status_code == 200
        async with resources.sessionmaker() as db:
            stored = await db.get(ApiKey, uuid.UUID(created["id"]))
            assert stored is not None
            stored.expires_at = utcnow() - timedelta(seconds=1)
            await db.commit()
        error = assert_error(await ci.get("/api/v1/auth/me"), 401, "UNAUTHORIZED")
        assert "expired" in error["message"].lower()
    await browser.aclose()


async def test_a_revoked_key_stops_working_and_revoking_twice_is_not_found(
    app: FastAPI, resources: Resources
) -> None:
    browser, _ = await browser_for(app)
    created = await _create(browser)
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        assert (await ci.get("/api/v1/projects")).status_code == 200
        revoked = await browser.delete(f"{KEYS}/{created['id']}")
        assert revoked.status_code == 204 and revoked.content == b""
        assert_error(await ci.get("/api/v1/projects"), 401, "UNAUTHORIZED")
    assert await _stored(resources, created["id"]) is None
    assert (await browser.get(KEYS)).json()["data"] == []
    assert_error(await browser.delete(f"{KEYS}/{created['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.delete(f"{KEYS}/{uuid.uuid4()}"), 404, "RESOURCE_NOT_FOUND")
    await browser.aclose()


async def test_a_read_only_key_can_read_but_not_write(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    created = await _create(browser, scopes=["read"])
    assert created["scopes"] == ["read"]
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        listed = await ci.get("/api/v1/projects")
        assert listed.status_code == 200, listed.text
        before = listed.json()["pagination"]["total"]
        error = assert_error(
            await ci.post("/api/v1/projects", json={"name": "nope"}), 403, "FORBIDDEN"
        )
        assert "write" in error["message"]
        assert (await ci.get("/api/v1/projects")).json()["pagination"]["total"] == before
    await browser.aclose()


async def test_unknown_scopes_are_refused(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    for scopes in (["admin"], ["read", "delete"]):
        error = assert_error(
            await browser.post(KEYS, json={"name": "x", "scopes": scopes}), 422, "VALIDATION_ERROR"
        )
        assert error["details"]["fields"][0]["field"].startswith("scopes")
    assert (await browser.get(KEYS)).json()["data"] == []
    await browser.aclose()


async def test_a_secrets_only_key_cannot_read_projects(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    created = await _create(browser, scopes=["secrets:read"])
    assert created["scopes"] == ["secrets:read"]
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        error = assert_error(await ci.get("/api/v1/projects"), 403, "FORBIDDEN")
        assert "read" in error["message"]
    await browser.aclose()


async def test_api_key_writes_need_no_csrf_token(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)
    async with new_client(app, **{"X-API-Key": key}) as ci:
        created = await ci.post("/api/v1/projects", json={"name": "from CI"})
        assert created.status_code == 201, created.text
        names = [p["name"] for p in (await browser.get("/api/v1/projects")).json()["data"]]
        assert "from CI" in names
    await browser.aclose()


async def test_an_api_key_cannot_mint_a_key_with_more_power(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)  # read + write, no secrets:read
    async with new_client(app, **{"X-API-Key": key}) as ci:
        minted = await ci.post(KEYS, json={"name": "escalate", "scopes": ["secrets:read"]})
        assert_error(minted, 403, "FORBIDDEN")
        same = await ci.post(KEYS, json={"name": "copy"})
        assert_error(same, 403, "FORBIDDEN")
    assert len((await browser.get(KEYS)).json()["data"]) == 1
    await browser.aclose()


async def test_an_invalid_key_is_unauthorized_with_a_message(client: AsyncClient) -> None:
    response = await client.get("/api/v1/projects", headers={"X-API-Key": "orb_not-a-real-key"})
    error = assert_error(response, 401, "UNAUTHORIZED")
    assert "API key" in error["message"]


# --- /ci -----------------------------------------------------------------------------------


async def test_ci_whoami_names_the_key_and_its_user(app: FastAPI) -> None:
    browser, user = await browser_for(app)
    created = await _create(browser, name="github actions", scopes=["read"])
    async with new_client(app, **{"X-API-Key": created["key"]}) as ci:
        response = await ci.get("/api/v1/ci/whoami")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "user": {"id": user["id"], "email": user["email"], "name": user["name"]},
        "key": {
            "id": created["id"],
            "name": "github actions",
            "prefix": created["prefix"],
            "scopes": ["read"],
        },
    }
    assert created["key"] not in response.text
    await browser.aclose()


async def test_ci_routes_accept_api_keys_only(app: FastAPI, client: AsyncClient) -> None:
    user = await sign_in_everywhere(app)
    assert_error(await user.browser.get("/api/v1/ci/whoami"), 401, "UNAUTHORIZED")
    assert_error(await user.cli.get("/api/v1/ci/whoami"), 401, "UNAUTHORIZED")
    assert_error(await client.get("/api/v1/ci/whoami"), 401, "UNAUTHORIZED")
    bad = await client.get("/api/v1/ci/whoami", headers={"X-API-Key": "orb_wrong"})
    assert_error(bad, 401, "UNAUTHORIZED")
    assert (await user.api.get("/api/v1/ci/whoami")).status_code == 200
    await user.aclose()


async def test_an_unknown_ci_route_is_a_not_found_envelope(app: FastAPI) -> None:
    browser, _ = await browser_for(app)
    key = await create_api_key(browser)
    async with new_client(app, **{"X-API-Key": key}) as ci:
        response = await ci.get(f"/api/v1/ci/no-such-thing/{uuid.uuid4()}")  # in no contract
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
    await browser.aclose()
