"""Crashes and failures around garbage collection and uploads: bytes are deleted only after
the transaction that removed their last owner committed, so every failure leaves at worst
bytes nobody owns (which the next gc pass removes), never a row whose bytes are missing."""

from __future__ import annotations

import base64
import hashlib
import os
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import boto3
import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.blobs import presign, reclaim
from orbiter.blobs.manifest import blob_key
from orbiter.core.settings import Settings
from orbiter.main import create_app
from orbiter.runtime.deps import ResourcesDep, get_db
from orbiter.runtime.resources import Resources
from orbiter.storage import LocalBlobStore
from tests.blobs.util import collect, sha256, upload_blob
from tests.helpers import BASE_URL, SignedIn, SignedInFactory


async def owned(client: AsyncClient, digest: str) -> bool:
    answer = await client.post("/api/v1/blobs/exists", json={"hashes": [digest]})
    return digest in answer.json()["existing"]


def failing_commits(app: FastAPI) -> Callable[[], None]:
    """Make every request's transaction fail at commit (rolled back, 500); returns the undo."""

    async def rolled_back(resources: ResourcesDep) -> AsyncIterator[AsyncSession]:
        async with resources.sessionmaker() as session:
            yield session
            await session.rollback()
            raise RuntimeError("the database went away at commit")

    app.dependency_overrides[get_db] = rolled_back

    def undo() -> None:
        app.dependency_overrides.pop(get_db)

    return undo


def tolerant(app: FastAPI, signed_in: SignedIn) -> AsyncClient:
    """The user's API-key client, getting 500 responses instead of the app's exceptions."""
    transport = ASGITransport(app=app, raise_app_exceptions=False)
    return AsyncClient(
        transport=transport, base_url=BASE_URL, headers={"X-API-Key": signed_in.api_key}
    )


async def test_a_failed_commit_keeps_both_rows_and_bytes(
    app: FastAPI, signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    user = await signed_in()
    data = os.urandom(300)
    digest = await upload_blob(user.api, data)
    undo = failing_commits(app)
    try:
        async with tolerant(app, user) as client:
            response = await client.post("/api/v1/blobs/gc", json={"dryRun": False})
        assert response.status_code == 500
    finally:
        undo()
    assert await owned(user.api, digest)
    assert await resources.blobs.exists(blob_key(digest))
    assert (await user.api.get(f"/api/v1/blobs/download/{digest}")).content == data


async def _store_down(key: str) -> None:
    raise OSError("the store is unreachable")


async def _killed(*args: Any, **kwargs: Any) -> None:
    """The process died right after the commit: nothing after it ran."""


@pytest.mark.parametrize(
    ("where", "name", "replacement"),
    [("store", "delete", _store_down), ("reclaim", "after_collection", _killed)],
    ids=["the-delete-fails", "killed-after-the-commit"],
)
async def test_an_interrupted_deletion_leaves_an_orphan_the_next_pass_removes(
    signed_in: SignedInFactory,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
    no_grace: None,
    where: str,
    name: str,
    replacement: Callable[..., Awaitable[None]],
) -> None:
    user = await signed_in()
    digest = await upload_blob(user.api, os.urandom(300))
    with monkeypatch.context() as patched:
        patched.setattr(resources.blobs if where == "store" else reclaim, name, replacement)
        assert (await collect(user.api, dryRun=False))["orphanedBlobs"] == 1
    assert not await owned(user.api, digest)  # the rows went with the commit
    assert await resources.blobs.exists(blob_key(digest))  # the bytes are an orphan

    assert (await collect(user.api, dryRun=False))["orphanedBlobs"] == 0
    assert not await resources.blobs.exists(blob_key(digest))


async def test_bytes_uploaded_again_before_the_deletion_are_kept(
    signed_in: SignedInFactory,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
    no_grace: None,
) -> None:
    alice, bob = await signed_in(), await signed_in()
    data = os.urandom(300)
    digest = await upload_blob(alice.api, data)
    pending: list[tuple[Any, ...]] = []

    async def later(*args: Any, **kwargs: Any) -> None:
        pending.append((args, kwargs))

    with monkeypatch.context() as patched:
        patched.setattr(reclaim, "after_collection", later)
        assert (await collect(alice.api, dryRun=False))["orphanedBlobs"] == 1
    await upload_blob(bob.api, data)  # between alice's commit and the deletion
    [(args, kwargs)] = pending
    await reclaim.after_collection(*args, **kwargs)
    assert (await bob.api.get(f"/api/v1/blobs/download/{digest}")).content == data


async def test_an_object_written_without_rows_is_swept_once_old_enough(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an upload killed between storing the bytes and committing its rows leaves."""
    data = os.urandom(64)
    orphan = blob_key(sha256(data))
    await resources.blobs.put_bytes(orphan, data)

    await collect(
        browser, dryRun=False
    )  # within the grace period: kept, an upload may still be committing
    assert await resources.blobs.exists(orphan)
    monkeypatch.setattr(resources.settings, "gc_grace_seconds", 0)
    await collect(browser, dryRun=False)
    assert not await resources.blobs.exists(orphan)


async def test_stale_temp_files_and_multipart_uploads_go_with_a_gc_pass(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    if isinstance(resources.blobs, LocalBlobStore):
        temp = resources.blobs.temp_dir
        temp.mkdir(parents=True, exist_ok=True)
        dead, live = temp / f"{uuid.uuid4()}.part", temp / f"{uuid.uuid4()}.part"
        for path in (dead, live):
            path.write_bytes(b"half an upload")
        a_day_ago = time.time() - 86400
        os.utime(dead, (a_day_ago, a_day_ago))
        await collect(browser, dryRun=False)
        assert not dead.exists() and live.exists()
        live.unlink()
        return
    settings = resources.settings
    client = boto3.session.Session().client(
        "s3",
        endpoint_url=settings.s3_endpoint_url or None,
        aws_access_key_id=settings.s3_access_key_id or None,
        aws_secret_access_key=settings.s3_secret_access_key or None,
        region_name=settings.s3_region,
    )
    key = f"blobs/test/{uuid.uuid4()}"
    client.create_multipart_upload(Bucket=settings.s3_bucket, Key=key)
    monkeypatch.setattr(reclaim, "STALE_UPLOAD_SECONDS", 0)
    monkeypatch.setattr(settings, "gc_grace_seconds", 0)
    await collect(browser, dryRun=False)
    listing = client.list_multipart_uploads(Bucket=settings.s3_bucket, Prefix=key)
    assert listing.get("Uploads", []) == []


async def test_unadopted_presigned_uploads_are_removed_once_stale(
    browser: AsyncClient, resources: Resources, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "services":
        pytest.skip("S3 only")
    me = (await browser.get("/api/v1/auth/me")).json()["id"]
    data = os.urandom(100)
    staged = presign.staging_key(uuid.UUID(me), sha256(data))
    await resources.blobs.put_bytes(staged, data)
    monkeypatch.setattr(resources.settings, "gc_grace_seconds", 0)
    await collect(
        browser, dryRun=False
    )  # younger than the presigned URL's pending mark: may still be adopted
    assert await resources.blobs.exists(staged)
    monkeypatch.setattr(presign, "PENDING_SECONDS", 0)
    await collect(browser, dryRun=False)
    assert not await resources.blobs.exists(staged)


async def test_an_adoption_whose_commit_fails_leaves_only_an_orphan(
    app: FastAPI,
    signed_in: SignedInFactory,
    resources: Resources,
    backend: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if backend != "services":
        pytest.skip("S3 only")
    user = await signed_in()
    data = os.urandom(500)
    digest = sha256(data)
    url = (await user.api.post("/api/v1/blobs/presign-upload", json={"hashes": [digest]})).json()[
        "urls"
    ][digest]
    assert "/staging/" in urlparse(url).path
    async with httpx.AsyncClient() as anonymous:
        put = await anonymous.put(url, content=data, headers=_checksum(data))
    assert put.status_code == 200, put.text

    undo = failing_commits(app)
    try:
        async with tolerant(app, user) as client:
            answer = await client.post("/api/v1/blobs/exists", json={"hashes": [digest]})
        assert answer.status_code == 500
    finally:
        undo()
    assert not await owned(user.api, digest)  # no row: whatever was copied is an orphan
    monkeypatch.setattr(resources.settings, "gc_grace_seconds", 0)
    await collect(user.api, dryRun=False)
    assert not await resources.blobs.exists(blob_key(digest))
    # The upload can simply be done again.
    assert (await user.api.put(f"/api/v1/blobs/upload/{digest}", content=data)).status_code == 201


def _checksum(data: bytes) -> dict[str, str]:
    return {"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()}


async def test_start_up_discards_temp_files_of_a_killed_process(
    migrated: Settings, tmp_path: Path
) -> None:
    settings = migrated.model_copy(
        update={
            "data_dir": tmp_path,
            "blob_store": "local",
            "database_url": migrated.effective_database_url,
        }
    )
    temp = tmp_path / "blobs" / ".tmp"
    temp.mkdir(parents=True)
    dead, live = temp / "killed.part", temp / "another-process.part"
    for path in (dead, live):
        path.write_bytes(b"half")
    two_hours_ago = (datetime.now(UTC) - timedelta(hours=2)).timestamp()
    os.utime(dead, (two_hours_ago, two_hours_ago))
    async with LifespanManager(create_app(settings)):
        assert not dead.exists()
        assert live.exists()  # written recently: an upload another process is still running
