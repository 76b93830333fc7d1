"""Upload helpers other domains' tests use to put blobs and manifests in the store via HTTP."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from httpx import AsyncClient


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def upload_blob(client: AsyncClient, data: bytes) -> str:
    digest = sha256(data)
    response = await client.put(f"/api/v1/blobs/upload/{digest}", content=data)
    assert response.status_code in (200, 201), response.text
    return digest


def manifest_bytes(files: list[dict[str, Any]]) -> bytes:
    entries = sorted(files, key=lambda entry: entry["path"])
    return json.dumps({"version": 1, "files": entries}, separators=(",", ":")).encode()


async def upload_manifest(client: AsyncClient, files: list[dict[str, Any]]) -> str:
    """Store a manifest of `files` ({path, hash, size, mode?, type?}); returns its hash."""
    raw = manifest_bytes(files)
    digest = sha256(raw)
    response = await client.put(
        f"/api/v1/blobs/manifests/{digest}",
        content=raw,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code in (200, 201), response.text
    return digest


async def upload_tree(client: AsyncClient, tree: dict[str, bytes]) -> str:
    """Upload `tree`'s blobs (each distinct content once, so tests stay under the per-minute
    rate limit) and the manifest describing it; returns the manifest's hash."""
    for data in dict.fromkeys(tree.values()):
        await upload_blob(client, data)
    files = [
        {"path": path, "hash": sha256(data), "size": len(data), "mode": 0o644}
        for path, data in tree.items()
    ]
    return await upload_manifest(client, files)


async def collect(client: AsyncClient, **body: Any) -> dict[str, Any]:
    """POST /blobs/gc with `body` (a dry run unless `dryRun=False`); its report."""
    response = await client.post("/api/v1/blobs/gc", json=body)
    assert response.status_code == 200, response.text
    report: dict[str, Any] = response.json()
    return report
