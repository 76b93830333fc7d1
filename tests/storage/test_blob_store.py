"""The same behaviour from every BlobStore: local directory and S3 (moto or ORBITER_S3_*)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orbiter.core.errors import NotFound, ServiceUnavailable
from orbiter.core.settings import Settings
from orbiter.storage import (
    BlobNotFound,
    BlobStore,
    LocalBlobStore,
    S3BlobStore,
    create_blob_store,
)
from tests.helpers import free_port

from .helpers import MiB, UniqueKeys, chunked, failing_after, random_bytes


async def read_all(store: BlobStore, key: str, start: int = 0, end: int | None = None) -> bytes:
    stream = await store.open_stream(key, start=start, end=end)
    return b"".join([chunk async for chunk in stream])


def assert_no_temp_files(store: BlobStore) -> None:
    if isinstance(store, LocalBlobStore) and store.temp_dir.exists():
        assert list(store.temp_dir.iterdir()) == []


@pytest.mark.parametrize("data", [b"", b"hello blob", random_bytes(100_000)])
async def test_round_trip_bytes(blob_store: BlobStore, new_key: UniqueKeys, data: bytes) -> None:
    key = new_key()
    assert await blob_store.put_bytes(key, data) == len(data)
    assert await blob_store.exists(key)
    assert await blob_store.size(key) == len(data)
    assert await read_all(blob_store, key) == data


async def test_put_replaces_existing_object(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key = new_key()
    await blob_store.put_bytes(key, b"first version")
    await blob_store.put_bytes(key, b"second")
    assert await read_all(blob_store, key) == b"second"


async def test_streamed_put_of_many_chunks(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key, data = new_key(), random_bytes(20 * MiB + 12345)
    assert await blob_store.put_stream(key, chunked(data, 64 * 1024)) == len(data)
    assert await blob_store.size(key) == len(data)
    chunks = [chunk async for chunk in await blob_store.open_stream(key)]
    assert all(len(chunk) <= MiB for chunk in chunks)
    assert b"".join(chunks) == data


@pytest.mark.parametrize(
    ("start", "end"),
    [(0, None), (10, None), (0, 1), (10, 1000), (100, 2000), (1999, 2000), (1500, 9999), (5, 5)],
)
async def test_range_read(
    blob_store: BlobStore, new_key: UniqueKeys, start: int, end: int | None
) -> None:
    key, data = new_key(), random_bytes(2000)
    await blob_store.put_bytes(key, data)
    chunks = [c async for c in await blob_store.open_stream(key, 7, start=start, end=end)]
    assert all(0 < len(chunk) <= 7 for chunk in chunks)
    assert b"".join(chunks) == data[start:end]


@pytest.mark.parametrize(("start", "end"), [(2000, None), (5000, None), (2500, 3000)])
async def test_range_past_the_end_is_empty(
    blob_store: BlobStore, new_key: UniqueKeys, start: int, end: int | None
) -> None:
    key = new_key()
    await blob_store.put_bytes(key, random_bytes(2000))
    assert await read_all(blob_store, key, start=start, end=end) == b""


@pytest.mark.parametrize(("start", "end"), [(0, 10), (3, None), (0, 0)])
async def test_range_of_empty_object_is_empty(
    blob_store: BlobStore, new_key: UniqueKeys, start: int, end: int | None
) -> None:
    key = new_key()
    await blob_store.put_bytes(key, b"")
    assert await read_all(blob_store, key, start=start, end=end) == b""


async def test_stream_can_be_closed_early(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key = new_key()
    await blob_store.put_bytes(key, random_bytes(3 * MiB))
    stream = await blob_store.open_stream(key)
    assert len(await anext(stream)) == MiB
    await stream.aclose()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)


async def test_missing_object(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key = new_key()
    assert await blob_store.exists(key) is False
    assert await blob_store.size(key) is None
    with pytest.raises(BlobNotFound) as raised:
        await blob_store.open_stream(key)
    assert isinstance(raised.value, NotFound)
    for start, end in [(10, None), (0, 10), (5, 5)]:
        with pytest.raises(BlobNotFound):
            await blob_store.open_stream(key, start=start, end=end)


async def test_delete_is_idempotent(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key = new_key()
    await blob_store.put_bytes(key, b"short-lived")
    await blob_store.delete(key)
    assert await blob_store.exists(key) is False
    await blob_store.delete(key)
    await blob_store.delete(new_key())


async def test_failing_stream_leaves_no_object(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key = new_key()
    with pytest.raises(RuntimeError, match="client went away"):
        await blob_store.put_stream(key, failing_after(random_bytes(10 * MiB)))
    assert await blob_store.exists(key) is False
    assert_no_temp_files(blob_store)


async def test_failing_overwrite_keeps_previous_object(
    blob_store: BlobStore, new_key: UniqueKeys
) -> None:
    key = new_key()
    await blob_store.put_bytes(key, b"previous")
    with pytest.raises(RuntimeError):
        await blob_store.put_stream(key, failing_after(random_bytes(10 * MiB)))
    assert await read_all(blob_store, key) == b"previous"
    assert_no_temp_files(blob_store)


async def test_cancelled_put_leaves_no_object(blob_store: BlobStore, new_key: UniqueKeys) -> None:
    key, reached_the_stall = new_key(), asyncio.Event()

    async def stalling() -> AsyncIterator[bytes]:
        async for chunk in chunked(random_bytes(10 * MiB), MiB):
            yield chunk
        reached_the_stall.set()
        await asyncio.Event().wait()
        yield b"never"

    upload = asyncio.create_task(blob_store.put_stream(key, stalling()))
    await asyncio.wait_for(reached_the_stall.wait(), timeout=30)
    upload.cancel()
    with pytest.raises(asyncio.CancelledError):
        await upload
    assert await blob_store.exists(key) is False
    assert_no_temp_files(blob_store)


INVALID_KEYS = [
    "",
    "/blobs/ab",
    "blobs//ab",
    "blobs/ab/",
    "../etc/passwd",
    "blobs/../../etc",
    "blobs/./ab",
    "..",
    "blobs/a\x00b",
    "b" * 1025,
]


@pytest.mark.parametrize("key", INVALID_KEYS)
async def test_invalid_keys_are_rejected(blob_store: BlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        await blob_store.exists(key)
    with pytest.raises(ValueError):
        await blob_store.size(key)
    with pytest.raises(ValueError):
        await blob_store.put_bytes(key, b"x")
    with pytest.raises(ValueError):
        await blob_store.put_stream(key, chunked(b"x", 1))
    with pytest.raises(ValueError):
        await blob_store.open_stream(key)
    with pytest.raises(ValueError):
        await blob_store.delete(key)


@pytest.mark.parametrize(("chunk_size", "start", "end"), [(0, 0, None), (1, -1, None), (1, 0, -1)])
async def test_invalid_ranges_are_rejected(
    blob_store: BlobStore, new_key: UniqueKeys, chunk_size: int, start: int, end: int | None
) -> None:
    key = new_key()
    await blob_store.put_bytes(key, b"data")
    with pytest.raises(ValueError):
        await blob_store.open_stream(key, chunk_size, start=start, end=end)


async def test_check_passes(blob_store: BlobStore) -> None:
    await blob_store.check()


@pytest.fixture(params=["local", "s3"])
async def unreachable_store(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[BlobStore]:
    store: BlobStore
    if request.param == "local":
        (tmp_path / "a-file").write_bytes(b"")
        store = LocalBlobStore(tmp_path / "a-file" / "blobs")
    else:
        store = S3BlobStore(
            bucket="orbiter-test",
            endpoint_url=f"http://127.0.0.1:{free_port()}",
            access_key_id="testing",
            secret_access_key="testing",
        )
    yield store
    await store.close()


async def test_check_fails_when_unreachable(unreachable_store: BlobStore) -> None:
    with pytest.raises(ServiceUnavailable):
        await unreachable_store.check()


def test_local_store_reserves_its_temp_dir(tmp_path: Path) -> None:
    store = LocalBlobStore(tmp_path)
    with pytest.raises(ValueError):
        asyncio.run(store.exists(".tmp/x"))


def test_create_blob_store_follows_settings(tmp_path: Path) -> None:
    local = create_blob_store(
        Settings(_env_file=None, data_dir=tmp_path, blob_store=None, s3_bucket="")
    )
    assert isinstance(local, LocalBlobStore)
    assert local.root == tmp_path / "blobs"

    s3 = create_blob_store(Settings(_env_file=None, blob_store=None, s3_bucket="bucket"))
    assert isinstance(s3, S3BlobStore)
    assert s3.bucket == "bucket"

    with pytest.raises(ValueError):
        create_blob_store(Settings(_env_file=None, blob_store="s3", s3_bucket=""))
