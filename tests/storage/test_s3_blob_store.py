"""What only S3 has: part boundaries, multipart clean-up and presigned URLs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from orbiter.storage import S3BlobStore
from orbiter.storage.s3 import PART_SIZE

from .helpers import MiB, UniqueKeys, chunked, failing_after, random_bytes


def etag(s3_client: Any, s3_store: S3BlobStore, key: str) -> str:
    return str(s3_client.head_object(Bucket=s3_store.bucket, Key=key)["ETag"]).strip('"')


def open_uploads(s3_client: Any, s3_store: S3BlobStore, key: str) -> list[Any]:
    listing = s3_client.list_multipart_uploads(Bucket=s3_store.bucket, Prefix=key)
    return list(listing.get("Uploads", []))


@pytest.mark.parametrize(
    ("size", "parts"),
    [(PART_SIZE - 1, None), (PART_SIZE, None), (PART_SIZE + 1, 2), (3 * PART_SIZE, 3)],
)
async def test_part_boundaries(
    s3_store: S3BlobStore, s3_client: Any, s3_key: UniqueKeys, size: int, parts: int | None
) -> None:
    key, data = s3_key(), random_bytes(size)
    assert await s3_store.put_stream(key, chunked(data, MiB)) == size
    # Multipart ETags end in "-<number of parts>"; single PUT ETags are a plain MD5.
    tag = etag(s3_client, s3_store, key)
    if parts is None:
        assert "-" not in tag
    else:
        assert tag.endswith(f"-{parts}")
    assert await s3_store.size(key) == size


async def test_one_huge_chunk_is_split_into_parts(
    s3_store: S3BlobStore, s3_client: Any, s3_key: UniqueKeys
) -> None:
    key, data = s3_key(), random_bytes(2 * PART_SIZE + 5)
    await s3_store.put_bytes(key, data)
    assert etag(s3_client, s3_store, key).endswith("-3")
    assert b"".join([c async for c in await s3_store.open_stream(key)]) == data


async def test_failing_stream_aborts_multipart_upload(
    s3_store: S3BlobStore, s3_client: Any, s3_key: UniqueKeys
) -> None:
    key = s3_key()
    with pytest.raises(RuntimeError):
        await s3_store.put_stream(key, failing_after(random_bytes(2 * PART_SIZE + 1)))
    assert open_uploads(s3_client, s3_store, key) == []


async def test_cancelled_stream_aborts_multipart_upload(
    s3_store: S3BlobStore, s3_client: Any, s3_key: UniqueKeys
) -> None:
    key, stalled = s3_key(), asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        async for chunk in chunked(random_bytes(PART_SIZE + 1), MiB):
            yield chunk
        stalled.set()
        await asyncio.Event().wait()
        yield b"never"

    upload = asyncio.create_task(s3_store.put_stream(key, stalling()))
    await asyncio.wait_for(stalled.wait(), timeout=30)
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert open_uploads(s3_client, s3_store, key) == []
    assert await s3_store.exists(key) is False


async def test_presigned_put_then_get(s3_store: S3BlobStore, s3_key: UniqueKeys) -> None:
    key, data = s3_key(), random_bytes(4096)
    async with httpx.AsyncClient() as http:
        put = await http.put(await s3_store.presign_put(key, 60), content=data)
        assert put.status_code == 200, put.text
        got = await http.get(await s3_store.presign_get(key, 60))
    assert got.status_code == 200
    assert got.content == data


@pytest.mark.parametrize("expires", [0, -1, 7 * 24 * 3600 + 1])
async def test_presign_rejects_bad_expiry(s3_store: S3BlobStore, expires: int) -> None:
    with pytest.raises(ValueError):
        await s3_store.presign_get("blobs/ab/cd", expires)


async def test_presign_rejects_bad_key(s3_store: S3BlobStore) -> None:
    with pytest.raises(ValueError):
        await s3_store.presign_put("../escape", 60)
