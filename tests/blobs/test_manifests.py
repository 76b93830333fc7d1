"""PUT/GET /blobs/manifests/{hash}: verified against the hash and the schema, served as stored."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.blobs.manifest import manifest_key
from orbiter.runtime.resources import Resources
from tests.blobs.util import manifest_bytes, sha256, upload_blob, upload_tree
from tests.helpers import assert_error

IMMUTABLE = "public, max-age=31536000, immutable"


def entry(path: str, data: bytes = b"x", **extra: Any) -> dict[str, Any]:
    return {"path": path, "hash": sha256(data), "size": len(data), "mode": 0o644, **extra}


async def put_manifest(client: AsyncClient, raw: bytes, digest: str | None = None) -> Any:
    return await client.put(
        f"/api/v1/blobs/manifests/{digest or sha256(raw)}",
        content=raw,
        headers={"Content-Type": "application/json"},
    )


async def manifest_stats(client: AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/api/v1/blobs/stats")).json()["manifests"]
    return body


async def test_manifest_round_trip_keeps_exact_bytes(browser: AsyncClient) -> None:
    nonce = os.urandom(8).hex()
    # Unusual but valid formatting: the stored bytes are the hashed bytes, never re-serialised.
    raw = (
        '{ "version": "1",\n  "files": [\n'
        f'    {{"path": "a/{nonce}.txt", "hash": "{sha256(b"a")}", "size": 1, "mode": 420}},\n'
        f'    {{"path": "b", "type": "dir", "size": 0, "mode": 493}},\n'
        f'    {{"path": "c", "type": "symlink", "target": "a", "size": 0, "mode": 511}}\n'
        "  ] }"
    ).encode()
    created = await put_manifest(browser, raw)
    assert created.status_code == 201, created.text
    assert created.json() == {"hash": sha256(raw), "size": len(raw), "created": True}
    again = await put_manifest(browser, raw)
    assert again.status_code == 200 and again.json()["created"] is False

    got = await browser.get(f"/api/v1/blobs/manifests/{sha256(raw)}")
    assert got.status_code == 200
    assert got.content == raw
    assert got.headers["content-type"] == "application/json"
    assert got.headers["cache-control"] == IMMUTABLE
    assert got.headers["etag"] == f'"{sha256(raw)}"'
    assert (await manifest_stats(browser)) == {"count": 1, "bytes": len(raw), "mb": 0.0}


async def test_upload_tree_helper(browser: AsyncClient) -> None:
    digest = await upload_tree(browser, {"src/main.py": b"print(1)\n", "README.md": os.urandom(9)})
    got = await browser.get(f"/api/v1/blobs/manifests/{digest}")
    paths = [f["path"] for f in got.json()["files"]]
    assert paths == ["README.md", "src/main.py"]


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ([entry("../escape")], "'..'"),
        ([entry("/abs")], "relative"),
        ([{"path": "x", "hash": "nothex", "size": 1, "mode": 420}], "hash"),
        ([entry("a"), entry("a")], "duplicate"),
        ([entry("a", size=-1)], "size"),
        ([entry("a", type="socket")], "type"),
        ([entry("a", type="symlink")], "target"),
        ([entry("a/./b")], "normalised"),
    ],
)
async def test_invalid_entries_are_422_with_details(
    browser: AsyncClient, resources: Resources, files: list[dict[str, Any]], message: str
) -> None:
    raw = json.dumps({"version": 1, "files": files}).encode()
    response = await put_manifest(browser, raw)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    entries = error["details"]["entries"]
    assert entries and message in entries[-1]["message"]
    assert {"index", "path", "message"} <= set(entries[-1])
    assert (await manifest_stats(browser))["count"] == 0
    assert not await resources.blobs.exists(manifest_key(sha256(raw)))
    assert (await browser.get(f"/api/v1/blobs/manifests/{sha256(raw)}")).status_code == 404


@pytest.mark.parametrize(
    "raw",
    [b"not json", b"[1, 2]", b'{"version": 2, "files": []}', b'{"version": 1, "files": {}}'],
)
async def test_malformed_manifests_are_422(
    browser: AsyncClient, resources: Resources, raw: bytes
) -> None:
    response = await put_manifest(browser, raw)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert not await resources.blobs.exists(manifest_key(sha256(raw)))
    assert (await manifest_stats(browser))["count"] == 0


async def test_manifest_hash_mismatch_is_400(browser: AsyncClient, resources: Resources) -> None:
    raw = manifest_bytes([entry(f"{os.urandom(4).hex()}.txt")])
    wrong = sha256(raw + b" ")
    response = await put_manifest(browser, raw, wrong)
    assert_error(response, 400, "BAD_REQUEST")
    assert not await resources.blobs.exists(manifest_key(wrong))
    assert not await resources.blobs.exists(manifest_key(sha256(raw)))
    assert (await manifest_stats(browser))["count"] == 0


async def test_manifest_over_the_limit_is_413(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_manifest_bytes", 100)
    raw = manifest_bytes([entry(f"file-{n}.txt") for n in range(10)])
    assert_error(await put_manifest(browser, raw), 413, "PAYLOAD_TOO_LARGE")
    assert (await manifest_stats(browser))["count"] == 0


async def test_manifests_and_blobs_are_separate_namespaces(browser: AsyncClient) -> None:
    """Uploading bytes as a blob does not make them a manifest, and the reverse."""
    raw = manifest_bytes([entry(f"{os.urandom(4).hex()}.txt")])
    await upload_blob(browser, raw)
    assert (await browser.get(f"/api/v1/blobs/manifests/{sha256(raw)}")).status_code == 404
    other = manifest_bytes([entry(f"{os.urandom(4).hex()}.txt")])
    assert (await put_manifest(browser, other)).status_code == 201
    assert (await browser.get(f"/api/v1/blobs/download/{sha256(other)}")).status_code == 404
