"""Listing keys in pages (what the gc sweep walks) and discarding the leftovers of writes that
never finished (a process killed mid-upload), on every BlobStore."""

from __future__ import annotations

import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from orbiter.storage import BlobStore, LocalBlobStore, S3BlobStore

from .helpers import UniqueKeys


async def test_keys_are_listed_in_pages_that_continue_after_the_last_key(
    blob_store: BlobStore, new_key: UniqueKeys
) -> None:
    base = f"blobs/test/{uuid.uuid4().hex}"  # fresh: the S3 bucket may hold others' objects
    keys = [f"{base}/a", f"{base}/b/c", f"{base}/b/d", f"{base}/e"]
    for key in keys:
        await blob_store.put_bytes(key, b"x")
        new_key.issued.append(key)
    before = datetime.now(UTC) - timedelta(minutes=5)

    everything = await blob_store.list_keys(f"{base}/")
    assert [item.key for item in everything] == keys
    assert all(
        before < item.modified <= datetime.now(UTC) + timedelta(minutes=5) for item in everything
    )

    pages: list[list[str]] = []
    after = ""
    while page := await blob_store.list_keys(f"{base}/", after=after, limit=3):
        pages.append([item.key for item in page])
        after = page[-1].key
    assert pages == [keys[:3], keys[3:]]
    assert await blob_store.list_keys(f"{base}/b/") == everything[1:3]
    assert await blob_store.list_keys(f"{base}/", after=keys[1], limit=1) == [everything[2]]


async def test_listing_never_shows_temp_files(tmp_path: Any) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    await store.put_bytes("blobs/ab/cd/x", b"1")
    store.temp_dir.mkdir(parents=True, exist_ok=True)
    (store.temp_dir / "upload.part").write_bytes(b"half")
    assert [item.key for item in await store.list_keys("")] == ["blobs/ab/cd/x"]


async def test_local_temp_files_of_a_dead_process_are_discarded_live_ones_kept(
    tmp_path: Any,
) -> None:
    store = LocalBlobStore(tmp_path / "blobs")
    store.temp_dir.mkdir(parents=True)
    dead, live, other = (store.temp_dir / name for name in ("a.part", "b.part", "notes.txt"))
    for path in (dead, live, other):
        path.write_bytes(b"partial")
    two_hours_ago = time.time() - 7200
    os.utime(dead, (two_hours_ago, two_hours_ago))
    os.utime(other, (two_hours_ago, two_hours_ago))

    discarded = await store.discard_incomplete_uploads(datetime.now(UTC) - timedelta(hours=1))
    assert discarded == 1
    assert not dead.exists() and live.exists() and other.exists()
    # A store that never wrote anything has nothing to discard.
    assert (
        await LocalBlobStore(tmp_path / "empty").discard_incomplete_uploads(datetime.now(UTC)) == 0
    )


async def test_s3_abandoned_multipart_uploads_are_aborted_recent_ones_kept(
    s3_store: S3BlobStore, s3_client: Any, s3_key: UniqueKeys
) -> None:
    key = s3_key()
    started = s3_client.create_multipart_upload(Bucket=s3_store.bucket, Key=key)["UploadId"]
    s3_client.upload_part(
        Bucket=s3_store.bucket, Key=key, UploadId=started, PartNumber=1, Body=b"half"
    )

    def open_uploads() -> list[Any]:
        listing = s3_client.list_multipart_uploads(Bucket=s3_store.bucket, Prefix=key)
        return list(listing.get("Uploads", []))

    # The cut-off is compared with the upload's start as the store reports it (moto reports
    # a fixed date in 2010, so both sides of the comparison are taken from that).
    [upload] = open_uploads()
    initiated = upload["Initiated"]
    await s3_store.discard_incomplete_uploads(initiated)  # started at the cut-off: live
    assert [u["UploadId"] for u in open_uploads()] == [started]
    assert await s3_store.discard_incomplete_uploads(initiated + timedelta(seconds=1)) >= 1
    assert open_uploads() == []
    assert not await s3_store.exists(key)
