"""Helpers for the /files tests: everything through HTTP."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient, Response

from tests.helpers import API

FILES = f"{API}/files"


def params(workspace_id: str | None) -> dict[str, str]:
    return {"workspace_id": workspace_id} if workspace_id else {}


async def create(
    client: AsyncClient, path: str, content: str = "", workspace_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        FILES, json={"path": path, "content": content, **extra}, params=params(workspace_id)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def update(
    client: AsyncClient, path: str, content: str, workspace_id: str | None = None, **extra: Any
) -> Response:
    return await client.post(
        f"{FILES}/content",
        json={"path": path, "content": content, **extra},
        params=params(workspace_id),
    )


async def remove(
    client: AsyncClient, path: str, workspace_id: str | None = None, **extra: Any
) -> Response:
    return await client.request(
        "DELETE", FILES, json={"path": path, **extra}, params=params(workspace_id)
    )


async def batch(
    client: AsyncClient, operations: list[dict[str, Any]], workspace_id: str | None = None
) -> Response:
    return await client.post(
        f"{FILES}/batch", json={"operations": operations}, params=params(workspace_id)
    )


async def content(client: AsyncClient, path: str, workspace_id: str | None = None) -> Response:
    return await client.get(f"{FILES}/content", params={"path": path, **params(workspace_id)})


async def text_of(client: AsyncClient, path: str, workspace_id: str | None = None) -> str:
    response = await content(client, path, workspace_id)
    assert response.status_code == 200, response.text
    assert response.json()["encoding"] == "utf-8"
    return str(response.json()["content"])


async def tree(client: AsyncClient, workspace_id: str | None = None) -> list[dict[str, Any]]:
    response = await client.get(FILES, params=params(workspace_id))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def flatten(nodes: list[dict[str, Any]]) -> dict[str, bool]:
    """Every path in a tree, with whether it is a directory."""
    found: dict[str, bool] = {}
    stack = list(nodes)
    while stack:
        node = stack.pop()
        found[node["path"]] = node["isDirectory"]
        stack.extend(node.get("children") or [])
    return found


async def files_of(client: AsyncClient, workspace_id: str | None = None) -> set[str]:
    return {
        path for path, is_dir in flatten(await tree(client, workspace_id)).items() if not is_dir
    }
