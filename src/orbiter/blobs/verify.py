"""An upload body that hashes and counts bytes as they arrive.

The blob stores commit only after the iterator they are fed is exhausted, so raising at the
end (digest mismatch) or half-way (too many bytes, client gone) makes them discard everything
they received: the local store removes its temp file, S3 aborts the multipart upload or never
sends the single PUT. Nothing partial or wrong is ever visible under the hash's key.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

from orbiter.core.errors import BadRequest, PayloadTooLarge

# Incoming chunks (often 64 KiB) are regrouped so each store write is one worker-thread hop.
COALESCE_BYTES = 1 << 20
READ_AHEAD = 4  # coalesced chunks buffered per upload: memory stays a few MiB


class HashMismatch(BadRequest):
    default_message = "The uploaded bytes do not match the hash in the URL"


class VerifiedBody:
    """Iterate once; afterwards `size` and `digest` describe what was received."""

    def __init__(self, chunks: AsyncIterator[bytes], *, expected: str, max_bytes: int) -> None:
        self._chunks = chunks
        self._expected = expected
        self._max_bytes = max_bytes
        self._hasher = hashlib.sha256()
        self.size = 0

    @property
    def digest(self) -> str:
        return self._hasher.hexdigest()

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._verified()

    async def _verified(self) -> AsyncIterator[bytes]:
        """Receiving runs ahead in its own task (at most READ_AHEAD coalesced chunks), so the
        client keeps sending while the previous chunk is hashed and written in threads."""
        queue: asyncio.Queue[bytes | BaseException | None] = asyncio.Queue(READ_AHEAD)
        receiver = asyncio.create_task(self._receive(queue))
        try:
            while (item := await queue.get()) is not None:
                if isinstance(item, BaseException):
                    raise item
                await asyncio.to_thread(self._hasher.update, item)  # releases the GIL
                yield item
            if self.digest != self._expected:
                raise HashMismatch(
                    details={"expected": self._expected, "actual": self.digest, "size": self.size}
                )
        finally:
            if not receiver.done():
                receiver.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await receiver

    async def _receive(self, queue: asyncio.Queue[bytes | BaseException | None]) -> None:
        pending: list[bytes] = []
        pending_size = 0
        try:
            async for chunk in self._chunks:
                if not chunk:
                    continue
                self.size += len(chunk)
                if self.size > self._max_bytes:
                    raise PayloadTooLarge(
                        f"The body is larger than the limit of {self._max_bytes} bytes",
                        details={"max_bytes": self._max_bytes},
                    )
                pending.append(chunk)
                pending_size += len(chunk)
                if pending_size >= COALESCE_BYTES:
                    await queue.put(b"".join(pending))
                    pending, pending_size = [], 0
            if pending:
                await queue.put(b"".join(pending))
            await queue.put(None)
        except Exception as exc:  # handed to the consumer, which raises it
            await queue.put(exc)

    async def read_all(self) -> bytes:
        """Everything, verified; only for bodies whose limit is small (manifests)."""
        return b"".join([chunk async for chunk in self])
