"""A user's blobs and manifests are invisible to everyone who has not uploaded the same bytes."""

from __future__ import annotations

import os
from typing import Any

from httpx import AsyncClient

from tests.blobs.util import collect, manifest_bytes, sha256, upload_blob, upload_manifest
from tests.helpers import SignedInFactory, assert_error


async def test_second_user_gets_404_with_every_auth_method(signed_in: SignedInFactory) -> None:
    owner, other = await signed_in(), await signed_in()
    data = os.urandom(1000)
    blob = await upload_blob(owner.browser, data)
    files = [{"path": "a.txt", "hash": blob, "size": len(data), "mode": 420}]
    manifest = await upload_manifest(owner.browser, files)

    for method, client in other.clients().items():
        for url in (f"/api/v1/blobs/download/{blob}", f"/api/v1/blobs/manifests/{manifest}"):
            assert_error(await client.get(url), 404, "RESOURCE_NOT_FOUND")
            assert (await client.head(url)).status_code == 404, (method, url)
        ranged = await client.get(f"/api/v1/blobs/download/{blob}", headers={"Range": "bytes=0-1"})
        assert_error(ranged, 404, "RESOURCE_NOT_FOUND")
        exists = await client.post("/api/v1/blobs/exists", json={"hashes": [blob]})
        assert exists.json() == {"missing": [blob], "existing": [], "checked": 1}, method
        presigned = await client.post("/api/v1/blobs/presign-download", json={"hashes": [blob]})
        assert presigned.status_code == 200 and presigned.json() == {"urls": {}}, method
        stats = (await client.get("/api/v1/blobs/stats")).json()
        assert stats["blobs"]["count"] == 0 and stats["manifests"]["count"] == 0


async def test_gc_collects_the_callers_orphans_and_spares_another_users(
    signed_in: SignedInFactory, no_grace: None
) -> None:
    """Without a grace period everything unreferenced is collectable: the other user's gc
    takes exactly their own orphan and none of the owner's, equally unreferenced, objects."""
    owner, other = await signed_in(), await signed_in()
    data = os.urandom(1000)
    blob = await upload_blob(owner.browser, data)
    manifest = await upload_manifest(
        owner.browser, [{"path": "a.txt", "hash": blob, "size": len(data), "mode": 420}]
    )
    theirs = await upload_blob(other.browser, os.urandom(300))

    report = await collect(other.api, dryRun=False)
    assert (report["scannedBlobs"], report["orphanedBlobs"], report["freedBytes"]) == (1, 1, 300)
    assert report["orphanedManifests"] == 0
    assert_error(await other.api.get(f"/api/v1/blobs/download/{theirs}"), 404, "RESOURCE_NOT_FOUND")

    # The owner's objects were unreferenced too, yet all still there ...
    assert (await owner.api.get(f"/api/v1/blobs/download/{blob}")).content == data
    assert (await owner.api.get(f"/api/v1/blobs/manifests/{manifest}")).status_code == 200
    stats = (await owner.api.get("/api/v1/blobs/stats")).json()
    assert stats["blobs"]["count"] == 1 and stats["manifests"]["count"] == 1
    # ... and the owner's own pass would collect them.
    dry = await collect(owner.api, dryRun=True)
    assert (dry["orphanedBlobs"], dry["orphanedManifests"]) == (1, 1)


async def test_other_users_manifest_needs_its_exact_bytes(signed_in: SignedInFactory) -> None:
    owner, other = await signed_in(), await signed_in()
    files = [{"path": f"{os.urandom(4).hex()}", "hash": sha256(b"1"), "size": 1, "mode": 420}]
    digest = await upload_manifest(owner.api, files)
    assert (await other.api.get(f"/api/v1/blobs/manifests/{digest}")).status_code == 404
    proved = await other.api.put(f"/api/v1/blobs/manifests/{digest}", content=manifest_bytes(files))
    # New for this user: the answer never tells that someone else stored the same bytes.
    assert proved.status_code == 201 and proved.json()["created"] is True
    assert (await other.api.get(f"/api/v1/blobs/manifests/{digest}")).status_code == 200


async def test_routes_need_authentication(client: AsyncClient) -> None:
    digest = "0" * 64
    routes: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", "/api/v1/blobs/exists", {"hashes": []}),
        ("POST", "/api/v1/blobs/presign-upload", {"hashes": []}),
        ("POST", "/api/v1/blobs/presign-download", {"hashes": []}),
        ("GET", f"/api/v1/blobs/download/{digest}", None),
        ("GET", f"/api/v1/blobs/manifests/{digest}", None),
        ("PUT", f"/api/v1/blobs/manifests/{digest}", None),
        ("POST", "/api/v1/blobs/gc", {}),
        ("GET", "/api/v1/blobs/stats", None),
    ]
    for method, url, body in routes:
        response = await client.request(method, url, json=body)
        assert_error(response, 401, "UNAUTHORIZED")
