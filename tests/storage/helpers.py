"""Small helpers shared by the blob store tests."""

from __future__ import annotations

import random
import uuid
from collections.abc import AsyncIterator

from orbiter.storage import BlobStore

MiB = 1024 * 1024


def random_bytes(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


async def chunked(data: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    for offset in range(0, len(data), chunk_size):
        yield data[offset : offset + chunk_size]


async def failing_after(data: bytes) -> AsyncIterator[bytes]:
    async for chunk in chunked(data, MiB):
        yield chunk
    raise RuntimeError("client went away")


class UniqueKeys:
    """Hands out fresh keys (the S3 bucket may be shared) and deletes them afterwards."""

    def __init__(self) -> None:
        self.issued: list[str] = []

    def __call__(self) -> str:
        self.issued.append(f"blobs/test/{uuid.uuid4().hex}")
        return self.issued[-1]

    async def delete_all(self, store: BlobStore) -> None:
        for key in self.issued:
            await store.delete(key)
