"""Fixtures for env var tests: a project owned by a user signed in every way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from tests.helpers import SignedIn, SignedInFactory, create_api_key, new_client, new_project

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
async def owner(app: FastAPI, signed_in: SignedInFactory) -> AsyncIterator[Owner]:
    person = await signed_in()
    project_id = await new_project(person.browser, "Deployable")
    key = await create_api_key(person.browser, ["read", "secrets:read"])
    deployer = new_client(app, **{"X-API-Key": key})
    try:
        yield Owner(person, project_id, deployer)
    finally:
        await deployer.aclose()
