"""Async byte streams: a blocking readable (a file, an S3 body) read in worker threads."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol


class Readable(Protocol):
    def read(self, size: int, /) -> bytes: ...

    def close(self) -> None: ...


class ThreadedReader:
    """Yields up to `limit` bytes (all when None), each blocking read run in a worker thread.

    The source is closed when the stream ends, fails or is closed early.
    """

    def __init__(self, source: Readable, *, chunk_size: int, limit: int | None = None) -> None:
        self._source = source
        self._chunk_size = chunk_size
        self._remaining = limit
        self._closed = False

    def __aiter__(self) -> ThreadedReader:
        return self

    async def __anext__(self) -> bytes:
        if self._closed or self._remaining == 0:
            self._close()
            raise StopAsyncIteration
        try:
            chunk = await asyncio.to_thread(self._source.read, self._next_read_size())
        except BaseException:
            self._close()
            raise
        if not chunk:
            self._close()
            raise StopAsyncIteration
        if self._remaining is not None:
            self._remaining -= len(chunk)
        return chunk

    async def aclose(self) -> None:
        self._close()

    def _next_read_size(self) -> int:
        if self._remaining is None:
            return self._chunk_size
        return min(self._chunk_size, self._remaining)

    def _close(self) -> None:
        if not self._closed:
            self._closed = True
            self._source.close()


class EmptySource:
    def read(self, size: int, /) -> bytes:
        return b""

    def close(self) -> None:
        pass


def empty_reader() -> ThreadedReader:
    return ThreadedReader(EmptySource(), chunk_size=1, limit=0)


async def single_chunk(data: bytes) -> AsyncIterator[bytes]:
    yield data
