"""Helpers for search tests: a search through HTTP, and what it found."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.helpers import API

SEARCH = f"{API}/search"


async def search(client: AsyncClient, q: str, **params: Any) -> list[dict[str, Any]]:
    response = await client.get(SEARCH, params={"q": q, **params})
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"data", "pagination"}
    return body["data"]  # type: ignore[no-any-return]


async def found(client: AsyncClient, q: str, **params: Any) -> set[tuple[str, str]]:
    """(type, id) of every hit."""
    return {(hit["type"], hit["id"]) for hit in await search(client, q, **params)}
