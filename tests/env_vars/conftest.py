"""Fixtures for env var tests: a project owned by a user signed in every way."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.helpers import SignedIn, create_api_key, new_client

PROJECTS = "/api/v1/projects"


@dataclass
class Owner:
    person: SignedIn
    project_id: str
    deployer: AsyncClient  # API key with read + secrets:read

    @property
    def url(self) -> str:
        return f"{PROJECTS}/{self.project_id}/env-vars"

    async def set(self, key: str, value: str, **extra: Any) -> dict[str, Any]:
        response = await self.person.browser.post(
            self.url, json={"key": key, "value": value, **extra}
        )
        assert response.status_code in (200, 201), response.text
        return response.json()  # type: ignore[no-any-return]

    async def values(self) -> dict[str, str]:
        response = await self.deployer.get(f"{self.url}/values")
        assert response.status_code == 200, response.text
        return {v["key"]: v["value"] for v in response.json()["variables"]}

    async def listed(self, client: AsyncClient | None = None) -> dict[str, dict[str, Any]]:
        response = await (client or self.person.browser).get(self.url, params={"limit": 100})
        assert response.status_code == 200, response.text
        return {v["key"]: v for v in response.json()["data"]}


@pytest.fixture
async def owner(app: FastAPI, signed_in: Callable[[], Awaitable[SignedIn]]) -> AsyncIterator[Owner]:
    person = await signed_in()
    created = await person.browser.post(PROJECTS, json={"name": "Deployable"})
    assert created.status_code == 201, created.text
    key = await create_api_key(person.browser, ["read", "secrets:read"])
    deployer = new_client(app, **{"X-API-Key": key})
    try:
        yield Owner(person, str(created.json()["id"]), deployer)
    finally:
        await deployer.aclose()
