"""Serving a stored object over HTTP: immutable caching, ETag, HEAD and single byte ranges.

`Range` handling follows RFC 9110 §14: one `bytes=a-b`, `bytes=a-` or `bytes=-n` range gets
206 with `Content-Range`; a range starting past the end gets 416 with `Content-Range: bytes */size`
(error code RANGE_NOT_SATISFIABLE); multiple ranges, other units and malformed values are
ignored (the whole object, 200), as the RFC allows. `If-Range` with another ETag also gets the
whole object; `If-None-Match` with the ETag gets 304.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from orbiter.core.errors import AppError
from orbiter.storage import BlobStore, BlobStream

IMMUTABLE = "public, max-age=31536000, immutable"
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


class RangeNotSatisfiable(AppError):
    status_code = 416
    code = "RANGE_NOT_SATISFIABLE"
    default_message = "The requested range does not overlap the object"


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # exclusive


def requested_range(header: str | None, size: int) -> ByteRange | None:
    """The one range to serve, None for the whole object; raises RangeNotSatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise _unsatisfiable(size)
        return ByteRange(max(0, size - suffix), size)
    start = int(first)
    if last and int(last) < start:
        return None  # invalid: ignored
    if start >= size:
        raise _unsatisfiable(size)
    end = size if not last else min(int(last) + 1, size)
    return ByteRange(start, end)


def _unsatisfiable(size: int) -> RangeNotSatisfiable:
    return RangeNotSatisfiable(details={"size": size}, headers={"Content-Range": f"bytes */{size}"})


def _etag_matches(header: str, etag: str) -> bool:
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


async def object_response(
    request: Request,
    store: BlobStore,
    *,
    key: str,
    hash_: str,
    size: int,
    media_type: str,
) -> Response:
    etag = f'"{hash_}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes"}
    if_none_match = request.headers.get("if-none-match")
    if if_none_match and _etag_matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    if_range = request.headers.get("if-range")
    byte_range = None
    if if_range is None or if_range.strip() == etag:
        byte_range = requested_range(request.headers.get("range"), size)
    status = 200
    start, end = 0, size
    if byte_range is not None:
        status, start, end = 206, byte_range.start, byte_range.end
        headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    headers["Content-Length"] = str(end - start)
    if request.method == "HEAD":
        return Response(status_code=status, headers=headers, media_type=media_type)
    stream = await store.open_stream(key, start=start, end=end)
    return StreamingResponse(
        _closing(stream), status_code=status, headers=headers, media_type=media_type
    )


async def _closing(stream: BlobStream) -> AsyncIterator[bytes]:
    """Release the file or S3 connection also when the client goes away mid-download."""
    try:
        async for chunk in stream:
            yield chunk
    finally:
        await stream.aclose()
