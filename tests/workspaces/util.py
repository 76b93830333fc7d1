"""Helpers for workspace, snapshot and drift tests: everything through HTTP."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests import helpers
from tests.blobs.util import sha256, upload_blob, upload_manifest
from tests.helpers import SignedIn

API = "/api/v1"


async def new_project(client: AsyncClient, name: str = "Apollo") -> str:
    response = await client.post(f"{API}/projects", json={"name": name})
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


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


async def manifest_of(client: AsyncClient, tree: dict[str, bytes]) -> str:
    """Upload `tree`'s blobs (each distinct content once, so tests stay under the per-minute
    rate limit) and the manifest describing it; returns the manifest's hash."""
    for data in set(tree.values()):
        await upload_blob(client, data)
    files = [
        {"path": path, "hash": sha256(data), "size": len(data), "mode": 0o644}
        for path, data in tree.items()
    ]
    return await upload_manifest(client, files)


async def set_current(client: AsyncClient, workspace_id: str, tree: dict[str, bytes]) -> str:
    """Upload `tree`'s manifest and make it the workspace's current one (unconditionally)."""
    manifest = await manifest_of(client, tree)
    response = await client.post(
        f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == 200, response.text
    return manifest


async def add_member(owner: AsyncClient, project_id: str, member: SignedIn, role: str) -> None:
    await helpers.add_member(owner, project_id, member.browser, member.email, role)


async def events(client: AsyncClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/projects/{project_id}/events", params={"limit": 100})
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]
