"""Blobs in an S3 bucket (AWS, MinIO, moto) through boto3, every call in a worker thread."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from orbiter.core.errors import ServiceUnavailable
from orbiter.storage.base import (
    DEFAULT_CHUNK_SIZE,
    BlobNotFound,
    BlobStream,
    StoredKey,
    validate_key,
    validate_range,
)
from orbiter.storage.s3_errors import error_code, translated_errors
from orbiter.storage.s3_multipart import MultipartUpload
from orbiter.storage.streams import ThreadedReader, empty_reader, single_chunk

PART_SIZE = 8 * 1024 * 1024  # with S3's 10,000-part limit: objects up to ~78 GiB
LIST_PAGE = 1000  # the most S3 returns per listing request
MAX_PRESIGN_SECONDS = 7 * 24 * 3600  # the SigV4 maximum


def default_config() -> Config:
    return Config(
        connect_timeout=5,
        read_timeout=60,
        retries={"max_attempts": 3, "mode": "standard"},
        max_pool_connections=32,
        signature_version="s3v4",
        s3={"addressing_style": "path"},
        # The newer default checksums are rejected by some S3-compatible servers.
        request_checksum_calculation="when_required",
        response_checksum_validation="when_required",
    )


class S3BlobStore:
    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        region: str = "us-east-1",
        config: Config | None = None,
    ) -> None:
        self.bucket = bucket
        # Empty values fall back to boto3's own chain (env, instance role), hence `or None`.
        self._client = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            region_name=region or None,
            config=config or default_config(),
        )

    async def exists(self, key: str) -> bool:
        return await self.size(key) is not None

    async def size(self, key: str) -> int | None:
        try:
            response = await self._call("head_object", Bucket=self.bucket, Key=validate_key(key))
        except BlobNotFound:
            return None
        return int(response["ContentLength"])

    async def put_stream(self, key: str, chunks: AsyncIterator[bytes]) -> int:
        validate_key(key)
        buffer = bytearray()
        upload: MultipartUpload | None = None
        try:
            async for chunk in chunks:
                buffer += chunk
                # Strictly more than a part: a stream of exactly one part stays a single PUT.
                while len(buffer) > PART_SIZE:
                    upload = upload or await MultipartUpload.start(self._call, self.bucket, key)
                    await upload.add_part(_take(buffer, PART_SIZE))
            if upload is None:
                await self._call("put_object", Bucket=self.bucket, Key=key, Body=bytes(buffer))
                return len(buffer)
            await upload.add_part(bytes(buffer))
            await upload.complete()
        except BaseException:
            if upload is not None:
                await upload.abort()
            raise
        return upload.size

    async def put_bytes(self, key: str, data: bytes) -> int:
        return await self.put_stream(key, single_chunk(data))

    async def open_stream(
        self,
        key: str,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        start: int = 0,
        end: int | None = None,
    ) -> BlobStream:
        validate_key(key)
        validate_range(chunk_size, start, end)
        if end is not None and end <= start:
            return await self._empty_stream_if_exists(key)
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": key}
        byte_range = _range_header(start, end)
        if byte_range:
            params["Range"] = byte_range
        try:
            response = await self._call("get_object", **params)
        except ClientError as exc:
            if error_code(exc) == "InvalidRange":  # start is at or past the end
                return await self._empty_stream_if_exists(key)
            raise
        return ThreadedReader(_TranslatedBody(response["Body"]), chunk_size=chunk_size)

    async def delete(self, key: str) -> None:
        await self._call("delete_object", Bucket=self.bucket, Key=validate_key(key))

    async def list_keys(
        self, prefix: str, *, after: str = "", limit: int = 1000
    ) -> list[StoredKey]:
        """In S3's order (by the UTF-8 bytes of the key)."""
        found: list[StoredKey] = []
        while len(found) < limit:
            params: dict[str, Any] = {
                "Bucket": self.bucket,
                "Prefix": prefix,
                "MaxKeys": min(LIST_PAGE, limit - len(found)),
            }
            if after:
                params["StartAfter"] = after
            response = await self._call("list_objects_v2", **params)
            page = [StoredKey(o["Key"], o["LastModified"]) for o in response.get("Contents", [])]
            found += page
            if not page or not response.get("IsTruncated"):
                break
            after = page[-1].key
        return found

    async def discard_incomplete_uploads(self, older_than: datetime) -> int:
        """Abort multipart uploads initiated before `older_than` (a process killed mid-upload
        never aborts its own)."""
        discarded = 0
        markers: dict[str, str] = {}
        while True:
            response = await self._call("list_multipart_uploads", Bucket=self.bucket, **markers)
            for upload in response.get("Uploads", []):
                if upload["Initiated"] < older_than:
                    await self._abort(upload["Key"], upload["UploadId"])
                    discarded += 1
            if not response.get("IsTruncated"):
                return discarded
            markers = {
                "KeyMarker": response["NextKeyMarker"],
                "UploadIdMarker": response["NextUploadIdMarker"],
            }

    async def _abort(self, key: str, upload_id: str) -> None:
        try:
            await self._call(
                "abort_multipart_upload", Bucket=self.bucket, Key=key, UploadId=upload_id
            )
        except ClientError as exc:
            if error_code(exc) != "NoSuchUpload":  # completed or aborted meanwhile
                raise

    async def check(self) -> None:
        try:
            await self._call("head_bucket", Bucket=self.bucket)
        except (ClientError, BlobNotFound) as exc:
            raise ServiceUnavailable("Blob bucket is not usable") from exc

    async def close(self) -> None:
        await asyncio.to_thread(self._client.close)

    async def presign_get(self, key: str, expires: int = 3600) -> str:
        return await self._presign("get_object", key, expires)

    async def presign_put(
        self, key: str, expires: int = 3600, *, sha256_hex: str | None = None
    ) -> str:
        extra = {}
        if sha256_hex is not None:
            # Signed into the URL: the uploader must send this header, and S3 refuses bytes
            # whose SHA-256 differs (BadDigest).
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256_hex)).decode()
        return await self._presign("put_object", key, expires, extra)

    async def copy(self, source: str, target: str) -> None:
        """Server-side copy (single request: objects up to 5 GB)."""
        validate_key(target)
        await self._call(
            "copy_object",
            Bucket=self.bucket,
            Key=target,
            CopySource={"Bucket": self.bucket, "Key": validate_key(source)},
        )

    async def stored_sha256(self, key: str) -> str | None:
        response = await self._call(
            "head_object", Bucket=self.bucket, Key=validate_key(key), ChecksumMode="ENABLED"
        )
        checksum = response.get("ChecksumSHA256")
        # Only a full-object checksum is the SHA-256 of the bytes (multipart ones are composite).
        if not checksum or response.get("ChecksumType", "FULL_OBJECT") != "FULL_OBJECT":
            return None
        try:
            return base64.b64decode(checksum, validate=True).hex()
        except ValueError:
            return None

    async def _presign(
        self, operation: str, key: str, expires: int, extra: dict[str, str] | None = None
    ) -> str:
        validate_key(key)
        if not 1 <= expires <= MAX_PRESIGN_SECONDS:
            raise ValueError(f"expires must be between 1 and {MAX_PRESIGN_SECONDS} seconds")
        params = {"Bucket": self.bucket, "Key": key, **(extra or {})}
        # In a thread: the first call may fetch credentials over the network.
        url = await asyncio.to_thread(
            self._client.generate_presigned_url, operation, Params=params, ExpiresIn=expires
        )
        return str(url)

    async def _empty_stream_if_exists(self, key: str) -> BlobStream:
        if await self.size(key) is None:
            raise BlobNotFound()
        return empty_reader()

    async def _call(self, operation: str, **params: Any) -> dict[str, Any]:
        method = getattr(self._client, operation)
        return await asyncio.to_thread(_call_translated, method, params)


class _TranslatedBody:
    """A botocore StreamingBody whose network failures surface as ServiceUnavailable."""

    def __init__(self, body: Any) -> None:
        self._body = body

    def read(self, size: int, /) -> bytes:
        with translated_errors():
            chunk: bytes = self._body.read(size)
            return chunk

    def close(self) -> None:
        self._body.close()


def _call_translated(method: Any, params: dict[str, Any]) -> dict[str, Any]:
    with translated_errors():
        return dict(method(**params))


def _take(buffer: bytearray, size: int) -> bytes:
    head = bytes(buffer[:size])
    del buffer[:size]
    return head


def _range_header(start: int, end: int | None) -> str | None:
    if end is not None:
        return f"bytes={start}-{end - 1}"
    return f"bytes={start}-" if start else None
