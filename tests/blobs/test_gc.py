"""POST /blobs/gc: collects only what none of the user's snapshots and workspaces need."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from orbiter.blobs.manifest import blob_key
from orbiter.core.time import utcnow
from orbiter.models import ObjectOwner
from orbiter.runtime.resources import Resources
from tests.blobs.util import collect, upload_blob, upload_manifest
from tests.helpers import SignedInFactory, add_member, assert_error, new_project


def file_entry(path: str, digest: str, size: int) -> dict[str, Any]:
    return {"path": path, "hash": digest, "size": size, "mode": 420}


async def personal_project(client: AsyncClient) -> str:
    projects = (await client.get("/api/v1/projects")).json()["data"]
    return str(next(p for p in projects if p["is_personal"])["id"])


async def blob_count(client: AsyncClient) -> int:
    return int((await client.get("/api/v1/blobs/stats")).json()["blobs"]["count"])


async def test_gc_collects_only_unreferenced_blobs(
    browser: AsyncClient, resources: Resources, no_grace: None
) -> None:
    project_id = await personal_project(browser)
    in_snapshot, in_workspace, orphan = os.urandom(100), os.urandom(200), os.urandom(300)
    a = await upload_blob(browser, in_snapshot)
    b = await upload_blob(browser, in_workspace)
    c = await upload_blob(browser, orphan)
    snapshot_manifest = await upload_manifest(browser, [file_entry("a", a, 100)])
    workspace_manifest = await upload_manifest(browser, [file_entry("b", b, 200)])
    stray_manifest = await upload_manifest(browser, [file_entry("c", c, 300)])
    snap = await browser.post(
        f"/api/v1/projects/{project_id}/snapshots", json={"manifest_hash": snapshot_manifest}
    )
    assert snap.status_code == 201, snap.text
    workspace = await browser.post(f"/api/v1/projects/{project_id}/workspaces", json={"name": "w"})
    assert workspace.status_code == 201, workspace.text
    moved = await browser.post(
        f"/api/v1/workspaces/{workspace.json()['id']}/current-manifest",
        json={"manifest_hash": workspace_manifest},
    )
    assert moved.status_code == 200, moved.text
    stray_size = (await browser.get(f"/api/v1/blobs/manifests/{stray_manifest}")).headers[
        "content-length"
    ]

    dry = await collect(browser)  # dryRun defaults to true
    assert dry == {
        "success": True,
        "dryRun": True,
        "scannedBlobs": 3,
        "orphanedBlobs": 1,
        "orphanedManifests": 1,
        "freedBytes": 300 + int(stray_size),
        "freedMB": 0.0,
    }
    assert await blob_count(browser) == 3
    assert (await browser.get(f"/api/v1/blobs/download/{c}")).status_code == 200

    real = await collect(browser, dryRun=False)
    assert real == {**dry, "dryRun": False}
    assert await blob_count(browser) == 2
    exists = await browser.post("/api/v1/blobs/exists", json={"hashes": [a, b, c]})
    assert exists.json() == {"missing": [c], "existing": [a, b], "checked": 3}
    assert_error(await browser.get(f"/api/v1/blobs/download/{c}"), 404, "RESOURCE_NOT_FOUND")
    assert (await browser.get(f"/api/v1/blobs/manifests/{stray_manifest}")).status_code == 404
    assert not await resources.blobs.exists(blob_key(c))
    assert (await browser.get(f"/api/v1/blobs/download/{a}")).content == in_snapshot
    assert (await browser.get(f"/api/v1/blobs/download/{b}")).content == in_workspace
    assert (await browser.get(f"/api/v1/blobs/manifests/{snapshot_manifest}")).status_code == 200

    again = await collect(browser, dryRun=False)
    assert again["orphanedBlobs"] == 0 and again["orphanedManifests"] == 0
    assert again["scannedBlobs"] == 2


async def test_grace_period_protects_recent_uploads(browser: AsyncClient) -> None:
    """A blob uploaded for a snapshot still being registered is never collected."""
    await upload_blob(browser, os.urandom(64))
    result = await collect(browser, dryRun=False)
    assert result["scannedBlobs"] == 1 and result["orphanedBlobs"] == 0
    assert await blob_count(browser) == 1


async def age_ownership(resources: Resources, digest: str, hours: int) -> None:
    async with resources.sessionmaker() as db:
        await db.execute(
            update(ObjectOwner)
            .where(ObjectOwner.hash == digest)
            .values(created_at=utcnow() - timedelta(hours=hours))
        )
        await db.commit()


async def test_exists_restarts_the_grace_period(browser: AsyncClient, resources: Resources) -> None:
    """A client told a blob exists will rely on it; gc must not take it away meanwhile."""
    kept, dropped = (
        await upload_blob(browser, os.urandom(64)),
        await upload_blob(browser, os.urandom(64)),
    )
    await age_ownership(resources, kept, hours=5)
    await age_ownership(resources, dropped, hours=5)
    await browser.post("/api/v1/blobs/exists", json={"hashes": [kept]})
    result = await collect(browser, dryRun=False)
    assert result["orphanedBlobs"] == 1
    exists = await browser.post("/api/v1/blobs/exists", json={"hashes": [kept, dropped]})
    assert exists.json()["existing"] == [kept]


async def test_recent_manifest_protects_its_blobs(
    browser: AsyncClient, resources: Resources
) -> None:
    """Blobs uploaded long ago, listed by a manifest uploaded just now (snapshot on its way)."""
    digest = await upload_blob(browser, b"old but needed " + os.urandom(8))
    await age_ownership(resources, digest, hours=5)
    await upload_manifest(browser, [file_entry("f", digest, 23)])
    result = await collect(browser, dryRun=False)
    assert result["orphanedBlobs"] == 0
    assert await blob_count(browser) == 1


async def test_max_blobs_bounds_one_pass(browser: AsyncClient, no_grace: None) -> None:
    for _ in range(5):
        await upload_blob(browser, os.urandom(10))
    first = await collect(browser, dryRun=False, maxBlobs=2)
    assert first["scannedBlobs"] == 2 and first["orphanedBlobs"] == 2
    assert await blob_count(browser) == 3
    rest = await collect(browser, dryRun=False, maxBlobs=10)
    assert rest["scannedBlobs"] == 3 and rest["orphanedBlobs"] == 3
    assert await blob_count(browser) == 0


async def test_shared_object_survives_until_its_last_owner_lets_go(
    signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    alice, bob = await signed_in(), await signed_in()
    data = os.urandom(500)
    digest = await upload_blob(alice.api, data)
    await upload_blob(bob.api, data)

    assert (await collect(alice.api, dryRun=False))["orphanedBlobs"] == 1
    assert (await alice.api.get(f"/api/v1/blobs/download/{digest}")).status_code == 404
    assert (await bob.api.get(f"/api/v1/blobs/download/{digest}")).content == data
    assert await resources.blobs.exists(blob_key(digest))

    assert (await collect(bob.cli, dryRun=False))["orphanedBlobs"] == 1
    assert not await resources.blobs.exists(blob_key(digest))
    # Uploading again stores it anew.
    again = await alice.api.put(f"/api/v1/blobs/upload/{digest}", content=data)
    assert again.status_code == 201 and again.json()["created"] is True


async def test_blobs_of_a_shared_projects_snapshots_are_kept(
    signed_in: SignedInFactory, no_grace: None
) -> None:
    owner, member = await signed_in(), await signed_in()
    project_id = await new_project(owner.api, "shared")
    await add_member(owner.browser, project_id, member.browser, member.email, "editor")
    data = os.urandom(40)
    digest = await upload_blob(owner.api, data)
    await upload_blob(member.api, data)
    manifest = await upload_manifest(owner.api, [file_entry("x", digest, 40)])
    snap = await owner.api.post(
        f"/api/v1/projects/{project_id}/snapshots", json={"manifest_hash": manifest}
    )
    assert snap.status_code == 201, snap.text
    assert (await collect(member.api, dryRun=False))["orphanedBlobs"] == 0
    assert await blob_count(member.api) == 1


@pytest.mark.parametrize(
    "body",
    [{"maxBlobs": 0}, {"maxBlobs": 100_001}, {"dryRun": "maybe"}, {"unknown": True}],
)
async def test_gc_validates_its_body(browser: AsyncClient, body: dict[str, Any]) -> None:
    digest = await upload_blob(browser, os.urandom(10))
    response = await browser.post("/api/v1/blobs/gc", json=body)
    assert_error(response, 422, "VALIDATION_ERROR")
    assert (await browser.get(f"/api/v1/blobs/download/{digest}")).status_code == 200


async def test_gc_without_a_body_is_a_dry_run(browser: AsyncClient, no_grace: None) -> None:
    await upload_blob(browser, os.urandom(10))
    response = await browser.post("/api/v1/blobs/gc")
    assert response.status_code == 200, response.text
    assert response.json()["dryRun"] is True and response.json()["orphanedBlobs"] == 1
    assert await blob_count(browser) == 1
