"""Fixtures for docs tests: a project whose workspaces point at uploaded manifests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from httpx import AsyncClient

from tests.blobs.util import upload_manifest, upload_tree
from tests.helpers import SignedIn, SignedInFactory, new_project

PROJECTS = "/api/v1/projects"


@dataclass
class DocsProject:
    person: SignedIn
    project_id: str

    @property
    def url(self) -> str:
        return f"{PROJECTS}/{self.project_id}/docs"

    async def workspace(
        self,
        name: str,
        tree: dict[str, bytes] | None = None,
        *,
        files: list[dict[str, Any]] | None = None,
    ) -> str:
        """A new workspace whose current manifest holds `tree` (or raw manifest `files`)."""
        client = self.person.api
        created = await client.post(f"{PROJECTS}/{self.project_id}/workspaces", json={"name": name})
        assert created.status_code == 201, created.text
        workspace_id = str(created.json()["id"])
        if tree is not None or files is not None:
            manifest = (
                await upload_tree(client, tree)
                if tree is not None
                else await upload_manifest(client, files or [])
            )
            moved = await client.post(
                f"/api/v1/workspaces/{workspace_id}/current-manifest",
                json={"manifest_hash": manifest},
            )
            assert moved.status_code == 200, moved.text
        return workspace_id

    async def content(self, workspace: str, path: str, client: AsyncClient | None = None) -> Any:
        return await (client or self.person.browser).get(
            f"{self.url}/content", params={"workspace": workspace, "path": path}
        )


@pytest.fixture
async def docs(signed_in: SignedInFactory) -> DocsProject:
    person = await signed_in()
    return DocsProject(person, await new_project(person.browser, "Documented"))
