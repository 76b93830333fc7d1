"""Helpers for workspace, snapshot and drift tests: everything through HTTP."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.blobs.util import upload_tree
from tests.helpers import API


async def new_workspace(
    client: AsyncClient, project_id: str, name: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/projects/{project_id}/workspaces", json={"name": name, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def new_snapshot(
    client: AsyncClient, project_id: str, manifest_hash: str, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"{API}/projects/{project_id}/snapshots", json={"manifest_hash": manifest_hash, **extra}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    return body["snapshot"]  # type: ignore[no-any-return]


async def set_current(client: AsyncClient, workspace_id: str, tree: dict[str, bytes]) -> str:
    """Upload `tree`'s manifest and make it the workspace's current one (unconditionally)."""
    manifest = await upload_tree(client, tree)
    response = await client.post(
        f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == 200, response.text
    return manifest


async def events(client: AsyncClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/projects/{project_id}/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
