"""/api/v1/providers: CRUD, keys encrypted and never echoed, the live test, the env map."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import select

from orbiter.models import LlmProvider
from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider, provider_body
from tests.helpers import SignedInFactory, assert_error, create_api_key, new_client

KEY = "sk-test-key-1234abcd"


async def stored(resources: Resources, provider_id: str) -> LlmProvider:
    async with resources.sessionmaker() as db:
        row = await db.scalar(select(LlmProvider).where(LlmProvider.id == uuid.UUID(provider_id)))
        assert row is not None
        return row


async def test_create_masks_the_key_and_encrypts_it_at_rest(
    signed_in: SignedInFactory, fake_llm: FakeLLM, resources: Resources
) -> None:
    user = await signed_in()
    response = await user.browser.post("/api/v1/providers", json=provider_body(fake_llm))
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["api_key"] == "••••abcd"
    assert created["api_key_last4"] == "abcd"
    assert created["has_api_key"] is True
    assert created["type"] == "openai_compatible"
    assert created["base_url"] == fake_llm.openai_url
    assert created["models"] == ["echo"]
    assert created["is_default"] is True, "a user's first provider is the default"
    assert KEY not in response.text
    row = await stored(resources, created["id"])
    assert row.api_key_encrypted and KEY not in row.api_key_encrypted
    assert row.api_key_encrypted.startswith("v1.")
    # bound to its row: the ciphertext does not decrypt under another row's context
    assert (
        resources.secrets.decrypt(
            row.api_key_encrypted, context=f"llm_providers:{row.id}:{row.user_id}"
        )
        == KEY
    )
    with pytest.raises(Exception):  # noqa: B017 - AES-GCM InvalidTag
        resources.secrets.decrypt(
            row.api_key_encrypted, context=f"llm_providers:{uuid.uuid4()}:{row.user_id}"
        )


async def test_the_key_is_never_echoed_by_any_route(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm)
    pid = created["id"]
    responses = [
        await user.browser.get("/api/v1/providers"),
        await user.browser.put(f"/api/v1/providers/{pid}", json={"name": "renamed"}),
        await user.browser.put(
            f"/api/v1/providers/{pid}", json={"api_key": "sk-another-key-9999wxyz"}
        ),
        await user.browser.post(f"/api/v1/providers/{pid}/test"),
    ]
    for response in responses:
        assert response.status_code == 200, response.text
        assert KEY not in response.text and "sk-another-key-9999wxyz" not in response.text
    assert responses[2].json()["api_key"] == "••••wxyz"


async def test_short_keys_show_no_last4(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm, api_key="abc123")
    assert created["api_key"] == "••••" and created["api_key_last4"] is None
    assert created["has_api_key"] is True


async def test_list_is_paginated_and_only_the_callers(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user, other = await signed_in(), await signed_in()
    for i in range(3):
        await create_fake_provider(user.browser, fake_llm, name=f"p{i}")
    await create_fake_provider(other.browser, fake_llm, name="theirs")
    page = (await user.api.get("/api/v1/providers", params={"limit": 2})).json()
    assert [p["name"] for p in page["data"]] == ["p2", "p1"]
    assert page["pagination"] == {
        "next_cursor": page["pagination"]["next_cursor"],
        "has_more": True,
        "total": 3,
    }
    rest = (
        await user.cli.get(
            "/api/v1/providers", params={"cursor": page["pagination"]["next_cursor"]}
        )
    ).json()
    assert [p["name"] for p in rest["data"]] == ["p0"]
    assert rest["pagination"]["has_more"] is False


async def test_update_keeps_the_key_unless_sent(
    signed_in: SignedInFactory, fake_llm: FakeLLM, resources: Resources
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm, models=["echo"])
    pid = created["id"]
    response = await user.api.put(
        f"/api/v1/providers/{pid}", json={"name": "renamed", "models": ["echo", "slow"]}
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["name"] == "renamed" and updated["models"] == ["echo", "slow"]
    assert updated["api_key"] == "••••abcd"
    assert updated["updated_at"] >= created["updated_at"]
    row = await stored(resources, pid)
    assert (
        resources.secrets.decrypt(
            row.api_key_encrypted or "", context=f"llm_providers:{row.id}:{row.user_id}"
        )
        == KEY
    )
    # null keeps it too; "" removes it
    assert (await user.api.put(f"/api/v1/providers/{pid}", json={"api_key": None})).json()[
        "has_api_key"
    ] is True
    removed = (await user.api.put(f"/api/v1/providers/{pid}", json={"api_key": ""})).json()
    assert removed["has_api_key"] is False and removed["api_key"] is None
    assert (await stored(resources, pid)).api_key_encrypted is None


async def test_one_default_per_user(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    first = await create_fake_provider(user.browser, fake_llm, name="first")
    second = await create_fake_provider(user.browser, fake_llm, name="second", is_default=True)
    listing = {
        p["name"]: p["is_default"]
        for p in (await user.browser.get("/api/v1/providers")).json()["data"]
    }
    assert listing == {"first": False, "second": True}
    await user.browser.put(f"/api/v1/providers/{first['id']}", json={"is_default": True})
    listing = {
        p["name"]: p["is_default"]
        for p in (await user.browser.get("/api/v1/providers")).json()["data"]
    }
    assert listing == {"first": True, "second": False}
    assert second["id"]


async def test_duplicate_names_are_409_and_change_nothing(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user, other = await signed_in(), await signed_in()
    await create_fake_provider(user.browser, fake_llm, name="main")
    second = await create_fake_provider(user.browser, fake_llm, name="backup")
    error = assert_error(
        await user.browser.post("/api/v1/providers", json=provider_body(fake_llm, name="main")),
        409,
        "CONFLICT",
    )
    assert error["details"]["field"] == "name"
    assert_error(
        await user.browser.put(f"/api/v1/providers/{second['id']}", json={"name": "main"}),
        409,
        "CONFLICT",
    )
    names = sorted(p["name"] for p in (await user.browser.get("/api/v1/providers")).json()["data"])
    assert names == ["backup", "main"]
    # names are per user
    await create_fake_provider(other.browser, fake_llm, name="main")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "x", "type": "mystery"}, "type"),
        ({"name": "", "type": "openai"}, "name"),
        ({"name": "x", "type": "openai_compatible"}, "base_url"),
        ({"name": "x", "type": "openai", "base_url": "ftp://example.com"}, "base_url"),
        ({"name": "x", "type": "openai", "base_url": "not a url"}, "base_url"),
        ({"name": "x", "type": "openai", "base_url": "https://user:pw@example.com/v1"}, "base_url"),
        ({"name": "x", "type": "openai", "api_key": "k", "extra": 1}, "extra"),
        ({"name": "x", "type": "openai", "models": [""]}, "models.0"),
    ],
)
async def test_bad_bodies_are_422_and_create_nothing(
    signed_in: SignedInFactory, body: dict[str, Any], field: str
) -> None:
    user = await signed_in()
    error = assert_error(
        await user.browser.post("/api/v1/providers", json=body), 422, "VALIDATION_ERROR"
    )
    assert any(
        f["field"].startswith(field) for f in error["details"]["fields"]
    ) or field in json.dumps(error)
    assert (await user.browser.get("/api/v1/providers")).json()["data"] == []


async def test_empty_update_is_422(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm)
    assert_error(
        await user.browser.put(f"/api/v1/providers/{created['id']}", json={}),
        422,
        "VALIDATION_ERROR",
    )
    assert_error(
        await user.browser.put(f"/api/v1/providers/{created['id']}", json={"name": None}),
        422,
        "VALIDATION_ERROR",
    )


async def test_delete(signed_in: SignedInFactory, fake_llm: FakeLLM) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm)
    assert (await user.cli.delete(f"/api/v1/providers/{created['id']}")).status_code == 204
    assert (await user.cli.get("/api/v1/providers")).json()["data"] == []
    assert_error(
        await user.cli.delete(f"/api/v1/providers/{created['id']}"), 404, "RESOURCE_NOT_FOUND"
    )


# ------------------------------------------------------------------ POST /providers/{id}/test


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("openai", "echo"),
        ("anthropic", "claude-echo"),
        ("ollama", "llama3.2:latest"),
    ],
)
async def test_live_test_lists_the_providers_models(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str, expected: str
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm, kind)
    response = await user.browser.post(f"/api/v1/providers/{created['id']}/test")
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["success"] is True and result["error"] is None
    assert expected in result["models"]
    assert isinstance(result["latency_ms"], int) and result["latency_ms"] >= 0
    paths = {r.path for r in fake_llm.requests}
    assert paths == ({"/api/tags"} if kind == "ollama" else {"/v1/models"})


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_live_test_with_a_bad_key_reports_the_failure(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm, kind, api_key="bad-key-0000000000")
    result = (await user.browser.post(f"/api/v1/providers/{created['id']}/test")).json()
    assert result["success"] is False and result["models"] is None
    assert "401" in result["error"]
    assert "bad-key-0000000000" not in json.dumps(result)


async def test_live_test_does_not_follow_redirects(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    created = await create_fake_provider(user.browser, fake_llm, api_key="redirect-key")
    result = (await user.browser.post(f"/api/v1/providers/{created['id']}/test")).json()
    assert result["success"] is False
    assert "302" in result["error"]
    assert [r.path for r in fake_llm.requests] == ["/v1/models"], "the Location was never fetched"


async def test_live_test_of_an_unreachable_provider(
    signed_in: SignedInFactory, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)
    user = await signed_in()
    created = (
        await user.browser.post(
            "/api/v1/providers",
            json={"name": "gone", "type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"},
        )
    ).json()
    result = (await user.browser.post(f"/api/v1/providers/{created['id']}/test")).json()
    assert result["success"] is False and "Could not connect" in result["error"]


# ------------------------------------------------------------------ GET /providers/env


async def test_env_map_needs_an_api_key_with_secrets_read(
    signed_in: SignedInFactory, fake_llm: FakeLLM, app: FastAPI
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm, "openai", name="oa")
    await create_fake_provider(
        user.browser, fake_llm, "anthropic", name="an", api_key="sk-ant-key-5678efgh"
    )
    for client in user.clients().values():  # cookie, a read/write key, bearer
        assert_error(await client.get("/api/v1/providers/env"), 403, "FORBIDDEN")
    key = await create_api_key(user.browser, scopes=["read", "secrets:read"])
    async with new_client(app, **{"X-API-Key": key}) as ci:
        response = await ci.get("/api/v1/providers/env")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.json() == {
        "OPENAI_API_KEY": KEY,
        "OPENAI_BASE_URL": fake_llm.openai_url,
        "ANTHROPIC_API_KEY": "sk-ant-key-5678efgh",
        "ANTHROPIC_BASE_URL": fake_llm.anthropic_url,
    }


async def test_env_map_is_empty_without_providers(signed_in: SignedInFactory, app: FastAPI) -> None:
    user = await signed_in()
    key = await create_api_key(user.browser, scopes=["read", "secrets:read"])
    async with new_client(app, **{"X-API-Key": key}) as ci:
        assert (await ci.get("/api/v1/providers/env")).json() == {}
