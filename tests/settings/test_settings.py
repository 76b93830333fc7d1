"""User preferences: defaults until saved, partial updates, strict validation, per user."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.helpers import SignedIn, assert_error, browser_for, new_client, sign_in_everywhere

SETTINGS = "/api/v1/settings"
DEFAULTS = {
    "theme": "system",
    "privacy_mode": "standard",
    "notifications": True,
    "sounds": True,
    "default_model": None,
    "enabled_model_ids": [],
    "language": "en",
}


@pytest.fixture
def user(browser: AsyncClient) -> AsyncClient:
    return browser


async def current(client: AsyncClient) -> dict[str, Any]:
    response = await client.get(SETTINGS)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_new_user_gets_the_defaults(user: AsyncClient) -> None:
    assert await current(user) == DEFAULTS


async def test_patch_changes_only_the_given_keys_and_persists(user: AsyncClient) -> None:
    response = await user.patch(SETTINGS, json={"theme": "dark", "sounds": False})
    assert response.status_code == 200
    expected = {**DEFAULTS, "theme": "dark", "sounds": False}
    assert response.json() == expected
    assert await current(user) == expected

    response = await user.patch(
        SETTINGS,
        json={
            "privacy_mode": "strict",
            "default_model": "gpt-4o",
            "enabled_model_ids": ["gpt-4o", "claude-sonnet"],
            "language": "pt-BR",
        },
    )
    assert response.status_code == 200
    expected = {
        **expected,
        "privacy_mode": "strict",
        "default_model": "gpt-4o",
        "enabled_model_ids": ["gpt-4o", "claude-sonnet"],
        "language": "pt-BR",
    }
    assert response.json() == expected
    assert await current(user) == expected


async def test_an_empty_patch_changes_nothing(user: AsyncClient) -> None:
    await user.patch(SETTINGS, json={"theme": "light"})
    response = await user.patch(SETTINGS, json={})
    assert response.status_code == 200
    assert response.json() == {**DEFAULTS, "theme": "light"}


async def test_default_model_can_be_cleared_with_null(user: AsyncClient) -> None:
    await user.patch(SETTINGS, json={"default_model": "gpt-4o", "enabled_model_ids": ["a"]})
    response = await user.patch(SETTINGS, json={"default_model": None, "enabled_model_ids": []})
    assert response.status_code == 200
    assert response.json() == DEFAULTS
    assert await current(user) == DEFAULTS


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"font_size": 14}, "font_size"),
        ({"theme": "dark", "colour": "blue"}, "colour"),
        ({"theme": "purple"}, "theme"),
        ({"privacy_mode": "paranoid"}, "privacy_mode"),
        ({"notifications": "sometimes"}, "notifications"),
        ({"language": "not a language!"}, "language"),
        ({"default_model": ""}, "default_model"),
        ({"enabled_model_ids": "gpt-4o"}, "enabled_model_ids"),
        ({"enabled_model_ids": [""]}, "enabled_model_ids.0"),
        ({"theme": None}, "theme"),
        ({"privacy_mode": None}, "privacy_mode"),
        ({"notifications": None}, "notifications"),
        ({"sounds": None}, "sounds"),
        ({"enabled_model_ids": None}, "enabled_model_ids"),
        ({"language": None}, "language"),
    ],
    ids=[
        "unknown-key",
        "unknown-key-beside-a-valid-one",
        "bad-theme",
        "bad-privacy-mode",
        "bad-flag",
        "bad-language",
        "empty-model",
        "model-ids-not-a-list",
        "empty-model-id",
        "null-theme",
        "null-privacy-mode",
        "null-notifications",
        "null-sounds",
        "null-model-ids",
        "null-language",
    ],
)
async def test_invalid_patch_is_a_422_naming_the_field_and_changes_nothing(
    user: AsyncClient, body: dict[str, Any], field: str
) -> None:
    saved = {"theme": "light", "sounds": False}
    assert (await user.patch(SETTINGS, json=saved)).status_code == 200
    error = assert_error(await user.patch(SETTINGS, json=body), 422, "VALIDATION_ERROR")
    fields = error["details"]["fields"]
    assert field in {f["field"] for f in fields}, fields
    assert all(set(f) == {"field", "message", "type"} for f in fields)
    assert await current(user) == {**DEFAULTS, **saved}


async def test_a_non_object_body_is_refused(user: AsyncClient) -> None:
    assert_error(await user.patch(SETTINGS, json=["theme", "dark"]), 422, "VALIDATION_ERROR")
    response = await user.patch(
        SETTINGS, content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422)
    assert await current(user) == DEFAULTS


async def test_settings_belong_to_each_user(app: FastAPI, user: AsyncClient) -> None:
    assert (await user.patch(SETTINGS, json={"theme": "dark", "language": "de"})).status_code == 200
    other, _ = await browser_for(app)
    try:
        assert await current(other) == DEFAULTS
        assert (await other.patch(SETTINGS, json={"theme": "light"})).status_code == 200
    finally:
        await other.aclose()
    assert await current(user) == {**DEFAULTS, "theme": "dark", "language": "de"}


async def test_every_credential_of_a_user_sees_the_same_settings(app: FastAPI) -> None:
    signed: SignedIn = await sign_in_everywhere(app)
    try:
        assert (await signed.cli.patch(SETTINGS, json={"theme": "dark"})).status_code == 200
        assert (await signed.api.patch(SETTINGS, json={"sounds": False})).status_code == 200
        expected = {**DEFAULTS, "theme": "dark", "sounds": False}
        for client in signed.clients().values():
            assert await current(client) == expected
    finally:
        await signed.aclose()


async def test_unauthenticated_requests_are_401(app: FastAPI) -> None:
    async with new_client(app) as anonymous:
        assert_error(await anonymous.get(SETTINGS), 401, "UNAUTHORIZED")
        assert_error(await anonymous.patch(SETTINGS, json={"theme": "dark"}), 401, "UNAUTHORIZED")
    async with new_client(app, Authorization="Bearer not-a-real-token") as bad:
        assert_error(await bad.get(SETTINGS), 401, "UNAUTHORIZED")
    async with new_client(app, **{"X-API-Key": "orb_not_a_real_key"}) as bad:
        assert_error(await bad.get(SETTINGS), 401, "UNAUTHORIZED")


async def test_a_cookie_patch_without_the_csrf_header_is_403_and_changes_nothing(
    user: AsyncClient,
) -> None:
    token = user.headers.pop("X-CSRF-Token")
    try:
        assert_error(await user.patch(SETTINGS, json={"theme": "dark"}), 403, "FORBIDDEN")
    finally:
        user.headers["X-CSRF-Token"] = token
    assert await current(user) == DEFAULTS


async def test_concurrent_patches_all_succeed_and_none_is_lost(user: AsyncClient) -> None:
    """The first save creates the stored row: racing first saves must not fail, and
    racing partial updates of different keys must all be kept."""
    changes = [{"theme": "dark"}, {"sounds": False}, {"notifications": False}]
    responses = await asyncio.gather(*(user.patch(SETTINGS, json=c) for c in changes))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    expected = {**DEFAULTS, "theme": "dark", "sounds": False, "notifications": False}
    assert await current(user) == expected

    more = [{"language": "fr"}, {"privacy_mode": "off"}, {"default_model": "m1"}]
    responses = await asyncio.gather(*(user.patch(SETTINGS, json=c) for c in more))
    assert [r.status_code for r in responses] == [200, 200, 200], [r.text for r in responses]
    expected |= {"language": "fr", "privacy_mode": "off", "default_model": "m1"}
    assert await current(user) == expected
