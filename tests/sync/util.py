"""Helpers for the sync tests: trees of files, executables and symlinks, through HTTP."""

from __future__ import annotations

import json
import weakref
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from httpx import AsyncClient, Response

from tests.blobs.util import sha256, upload_blob, upload_manifest
from tests.helpers import API, new_project
from tests.workspaces.util import new_snapshot, new_workspace


@dataclass(frozen=True)
class Exe:
    """An executable file (mode 0o755)."""

    data: bytes


@dataclass(frozen=True)
class Link:
    target: str


Value = bytes | Exe | Link
Tree = Mapping[str, Value]


def entry(path: str, value: Value) -> dict[str, Any]:
    if isinstance(value, Link):
        return {"path": path, "type": "symlink", "target": value.target, "size": 0, "mode": 0o777}
    data, mode = (value.data, 0o755) if isinstance(value, Exe) else (value, 0o644)
    return {"path": path, "hash": sha256(data), "size": len(data), "mode": mode}


_UPLOADED: weakref.WeakKeyDictionary[AsyncClient, set[bytes]] = weakref.WeakKeyDictionary()


async def upload(client: AsyncClient, tree: Tree) -> str:
    """The tree's manifest, its blobs uploaded (each once per client: the property test
    reuses a few contents across many trees)."""
    done = _UPLOADED.setdefault(client, set())
    for value in tree.values():
        if isinstance(value, Link):
            continue
        data = value.data if isinstance(value, Exe) else value
        if data not in done:
            await upload_blob(client, data)
            done.add(data)
    return await upload_manifest(client, [entry(path, value) for path, value in tree.items()])


async def set_tree(client: AsyncClient, workspace_id: str, tree: Tree) -> str:
    manifest = await upload(client, tree)
    response = await client.post(
        f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == 200, response.text
    return manifest


@dataclass(frozen=True)
class Scene:
    project_id: str
    main_id: str
    workspace_id: str
    base_snapshot_id: str


async def forked(client: AsyncClient, base: Tree, main: Tree, mine: Tree) -> Scene:
    """A main workspace at `main` and a workspace forked from main's snapshot of `base`, now at
    `mine`."""
    project_id = await new_project(client)
    main_id = str((await new_workspace(client, project_id, "main"))["id"])
    snapshot = await new_snapshot(
        client, project_id, await upload(client, base), workspace_id=main_id
    )
    workspace = await new_workspace(client, project_id, "mine", base_snapshot_id=snapshot["id"])
    await set_tree(client, main_id, main)
    await set_tree(client, str(workspace["id"]), mine)
    return Scene(project_id, main_id, str(workspace["id"]), str(snapshot["id"]))


def sync_url(workspace_id: str, what: str) -> str:
    return f"{API}/workspaces/{workspace_id}/sync/{what}"


async def prepare(client: AsyncClient, workspace_id: str) -> dict[str, Any]:
    response = await client.post(sync_url(workspace_id, "prepare"))
    assert response.status_code == 200, response.text
    return response.json()["preview"]  # type: ignore[no-any-return]


async def execute(
    client: AsyncClient, workspace_id: str, preview_id: str, **extra: Any
) -> Response:
    return await client.post(
        sync_url(workspace_id, "execute"), json={"preview_id": preview_id, **extra}
    )


async def current_hash(client: AsyncClient, workspace_id: str) -> str | None:
    response = await client.get(f"{API}/workspaces/{workspace_id}")
    assert response.status_code == 200, response.text
    return response.json()["workspace"]["current_manifest_hash"]  # type: ignore[no-any-return]


async def tree_of(client: AsyncClient, workspace_id: str) -> dict[str, tuple[Any, ...]]:
    """The workspace's current tree: path → (type, hash, mode, target)."""
    hash_ = await current_hash(client, workspace_id)
    response = await client.get(f"{API}/blobs/manifests/{hash_}")
    assert response.status_code == 200, response.text
    return {
        e["path"]: (e.get("type", "file"), e.get("hash"), e["mode"], e.get("target"))
        for e in json.loads(response.content)["files"]
    }


def expected(tree: Tree) -> dict[str, tuple[Any, ...]]:
    out = {}
    for path, value in tree.items():
        e = entry(path, value)
        out[path] = (e.get("type", "file"), e.get("hash"), e["mode"], e.get("target"))
    return out


async def blob_text(client: AsyncClient, hash_: str) -> str:
    response = await client.get(f"{API}/blobs/download/{hash_}")
    assert response.status_code == 200, response.text
    return response.text
