"""The blob store seam: what every backend promises, and the key rules they share."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from orbiter.core.errors import NotFound

DEFAULT_CHUNK_SIZE = 1 << 20
MAX_KEY_BYTES = 1024  # the S3 limit, applied everywhere so backends stay interchangeable


class BlobNotFound(NotFound):
    default_message = "Blob not found"


@dataclass(frozen=True)
class StoredKey:
    """One object found by `list_keys`: its key and when it was last written (UTC)."""

    key: str
    modified: datetime


class BlobStream(Protocol):
    """An AsyncIterator[bytes] over one blob; `aclose()` releases its file or connection early."""

    def __aiter__(self) -> BlobStream: ...

    async def __anext__(self) -> bytes: ...

    async def aclose(self) -> None: ...


class BlobStore(Protocol):
    """Bytes under string keys such as "blobs/ab/cdef...".

    Writes are all-or-nothing: a reader sees the previous object or the complete new one,
    never a partial one. Invalid keys raise ValueError (see `validate_key`).
    """

    async def exists(self, key: str) -> bool: ...

    async def size(self, key: str) -> int | None:
        """The object's length in bytes, or None when it does not exist."""
        ...

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> int:
        """Store everything `chunks` yields; returns the number of bytes written."""
        ...

    async def put_bytes(self, key: str, data: bytes) -> int: ...

    async def open_stream(
        self,
        key: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        start: int = 0,
        end: int | None = None,
    ) -> BlobStream:
        """Read bytes `[start, end)` like a slice (an HTTP `bytes=a-b` range is end=b+1).

        Raises BlobNotFound here, before any chunk is read, so callers can answer 404.
        """
        ...

    async def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...

    async def copy(self, source: str, target: str) -> None:
        """Copy an object to another key (server-side where the backend can); all-or-nothing."""
        ...

    async def stored_sha256(self, key: str) -> str | None:
        """The object's SHA-256 (hex) as the backend itself verified it at write time, or None
        when the backend keeps no such checksum. Raises BlobNotFound for a missing object."""
        ...

    async def list_keys(
        self, prefix: str, *, after: str = "", limit: int = 1000
    ) -> list[StoredKey]:
        """Up to `limit` objects whose key starts with `prefix`, in the store's own key order,
        starting after the key `after` ("" for the beginning). Listing from the last key
        returned continues the walk; an empty list means it has reached the end."""
        ...

    async def discard_incomplete_uploads(self, older_than: datetime) -> int:
        """Throw away writes that never completed and were started (local: last written)
        before `older_than`: temp files of a killed process, abandoned multipart uploads.
        Returns how many were discarded."""
        ...

    async def presign_get(self, key: str, expires: int = 3600) -> str | None:
        """A URL anyone can GET the object from until it expires; None when unsupported."""
        ...

    async def presign_put(
        self, key: str, expires: int = 3600, *, sha256_hex: str | None = None
    ) -> str | None:
        """A URL to PUT the object to; with `sha256_hex` the backend refuses other bytes
        (the client must send the matching `x-amz-checksum-sha256` header). None when
        unsupported."""
        ...

    async def check(self) -> None:
        """Raise ServiceUnavailable when the store cannot be reached or used."""
        ...

    async def close(self) -> None: ...


def validate_key(key: str) -> str:
    if not key:
        raise ValueError("blob key must not be empty")
    if "\x00" in key:
        raise ValueError("blob key must not contain NUL")
    if len(key.encode()) > MAX_KEY_BYTES:
        raise ValueError(f"blob key must be at most {MAX_KEY_BYTES} bytes")
    if key.startswith("/"):
        raise ValueError("blob key must not start with '/'")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(f"blob key has an empty, '.' or '..' segment: {key!r}")
    return key


def validate_range(chunk_size: int, start: int, end: int | None) -> None:
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    if start < 0 or (end is not None and end < 0):
        raise ValueError("start and end must not be negative")
