"""Helpers for atlas tests: a project's snapshot of a tree of files."""

from __future__ import annotations

from httpx import AsyncClient

from tests.blobs.util import upload_tree

PROJECTS = "/api/v1/projects"


async def snapshot(client: AsyncClient, project_id: str, tree: dict[str, bytes]) -> str:
    """Upload the tree's blobs and manifest and register it as the project's latest snapshot."""
    manifest = await upload_tree(client, tree)
    created = await client.post(
        f"{PROJECTS}/{project_id}/snapshots", json={"manifest_hash": manifest}
    )
    assert created.status_code == 201, created.text
    return str(created.json()["snapshot"]["id"])
