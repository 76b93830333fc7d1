"""One S3 multipart upload: parts go up in order, then complete, or abort on any failure."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

S3Call = Callable[..., Awaitable[dict[str, Any]]]

logger = logging.getLogger(__name__)

# Strong references to abort tasks that outlive a cancelled caller (asyncio keeps only weak ones).
_pending_aborts: set[asyncio.Task[dict[str, Any]]] = set()


class MultipartUpload:
    def __init__(self, call: S3Call, bucket: str, key: str, upload_id: str) -> None:
        self._call = call
        self._target = {"Bucket": bucket, "Key": key, "UploadId": upload_id}
        self._parts: list[dict[str, Any]] = []
        self.size = 0

    @classmethod
    async def start(cls, call: S3Call, bucket: str, key: str) -> MultipartUpload:
        response = await call("create_multipart_upload", Bucket=bucket, Key=key)
        return cls(call, bucket, key, str(response["UploadId"]))

    async def add_part(self, data: bytes) -> None:
        number = len(self._parts) + 1
        response = await self._call("upload_part", **self._target, PartNumber=number, Body=data)
        self._parts.append({"ETag": response["ETag"], "PartNumber": number})
        self.size += len(data)

    async def complete(self) -> None:
        await self._call(
            "complete_multipart_upload", **self._target, MultipartUpload={"Parts": self._parts}
        )

    async def abort(self) -> None:
        """Best effort; the caller re-raises its own error, so a failed abort is only logged.

        A part still uploading in a worker thread can land after the abort; a bucket
        lifecycle rule (AbortIncompleteMultipartUpload) sweeps such leftovers.
        """
        task = asyncio.ensure_future(self._call("abort_multipart_upload", **self._target))
        _pending_aborts.add(task)
        task.add_done_callback(_pending_aborts.discard)
        try:
            # Shielded so that a second cancellation cannot drop the abort half-way.
            await asyncio.shield(task)
        except Exception:
            logger.warning("could not abort multipart upload %s", self._target, exc_info=True)
