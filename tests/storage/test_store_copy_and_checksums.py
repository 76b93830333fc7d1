"""copy, stored_sha256 and presign capabilities every blob store answers for."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from orbiter.storage import BlobNotFound, BlobStore, LocalBlobStore, S3BlobStore

from .helpers import UniqueKeys, random_bytes


async def test_copy_makes_an_independent_object(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    source, target, data = new_key(), new_key(), random_bytes(3 * 1024 * 1024 + 5)
    await blob_store.put_bytes(source, data)
    await blob_store.copy(source, target)
    await blob_store.delete(source)
    stream = await blob_store.open_stream(target)
    assert b"".join([chunk async for chunk in stream]) == data


async def test_copy_of_missing_object_raises(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    target = new_key()
    with pytest.raises(BlobNotFound):
        await blob_store.copy(new_key(), target)
    assert not await blob_store.exists(target)


async def test_stored_sha256_of_missing_object_raises(
    blob_store: BlobStore, new_key: UniqueKeys
) -> None:
    with pytest.raises(BlobNotFound):
        await blob_store.stored_sha256(new_key())


async def test_local_store_has_no_urls_or_checksums(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    await store.put_bytes("a/b", b"data")
    assert await store.stored_sha256("a/b") is None
    assert await store.presign_get("a/b") is None
    assert await store.presign_put("a/b", sha256_hex="0" * 64) is None


async def test_presigned_put_signs_the_checksum(s3_store: S3BlobStore, s3_key: UniqueKeys) -> None:
    key, data = s3_key(), random_bytes(2048)
    digest = hashlib.sha256(data).hexdigest()
    url = await s3_store.presign_put(key, 60, sha256_hex=digest)
    signed = parse_qs(urlparse(url).query)["X-Amz-SignedHeaders"][0].split(";")
    assert "x-amz-checksum-sha256" in signed
    header = {"x-amz-checksum-sha256": base64.b64encode(bytes.fromhex(digest)).decode()}
    async with httpx.AsyncClient() as http:
        put = await http.put(url, content=data, headers=header)
    assert put.status_code == 200, put.text
    # Either the store reports the SHA-256 it verified, or none (moto keeps none).
    assert await s3_store.stored_sha256(key) in (digest, None)
