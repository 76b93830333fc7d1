"""GET/HEAD /blobs/download/{hash}: streamed bytes, immutable caching, ETag and byte ranges."""

from __future__ import annotations

import os

import pytest
from httpx import AsyncClient

from tests.blobs.util import upload_blob
from tests.helpers import assert_error

IMMUTABLE = "public, max-age=31536000, immutable"
DATA = bytes(range(256)) * 40  # 10,240 bytes with recognisable offsets


async def test_download_headers(browser: AsyncClient) -> None:
    digest = await upload_blob(browser, DATA)
    response = await browser.get(f"/api/v1/blobs/download/{digest}")
    assert response.status_code == 200
    assert response.content == DATA
    assert response.headers["content-type"] == "application/octet-stream"
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers["cache-control"] == IMMUTABLE
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["accept-ranges"] == "bytes"


async def test_head_gives_headers_without_body(browser: AsyncClient) -> None:
    digest = await upload_blob(browser, DATA)
    response = await browser.head(f"/api/v1/blobs/download/{digest}")
    assert response.status_code == 200
    assert response.content == b""
    assert response.headers["content-length"] == str(len(DATA))
    assert response.headers["etag"] == f'"{digest}"'
    assert response.headers["cache-control"] == IMMUTABLE
    missing = await browser.head(f"/api/v1/blobs/download/{'0' * 64}")
    assert missing.status_code == 404


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=0-99", 0, 100),
        ("bytes=100-", 100, len(DATA)),
        ("bytes=-10", len(DATA) - 10, len(DATA)),
        ("bytes=10000-99999", 10000, len(DATA)),  # end past the object is clipped
        ("bytes=-99999", 0, len(DATA)),  # suffix longer than the object: all of it
        ("bytes=5-5", 5, 6),
    ],
)
async def test_single_ranges_are_206(
    browser: AsyncClient, header: str, start: int, end: int
) -> None:
    digest = await upload_blob(browser, DATA)
    response = await browser.get(f"/api/v1/blobs/download/{digest}", headers={"Range": header})
    assert response.status_code == 206, response.text
    assert response.content == DATA[start:end]
    assert response.headers["content-range"] == f"bytes {start}-{end - 1}/{len(DATA)}"
    assert response.headers["content-length"] == str(end - start)
    assert response.headers["etag"] == f'"{digest}"'


async def test_head_with_range(browser: AsyncClient) -> None:
    digest = await upload_blob(browser, DATA)
    response = await browser.head(
        f"/api/v1/blobs/download/{digest}", headers={"Range": "bytes=0-9"}
    )
    assert response.status_code == 206
    assert response.headers["content-length"] == "10"
    assert response.headers["content-range"] == f"bytes 0-9/{len(DATA)}"


@pytest.mark.parametrize("header", [f"bytes={len(DATA)}-", "bytes=999999-1000000", "bytes=-0"])
async def test_unsatisfiable_range_is_416(browser: AsyncClient, header: str) -> None:
    digest = await upload_blob(browser, DATA)
    response = await browser.get(f"/api/v1/blobs/download/{digest}", headers={"Range": header})
    assert_error(response, 416, "RANGE_NOT_SATISFIABLE")
    assert response.headers["content-range"] == f"bytes */{len(DATA)}"


@pytest.mark.parametrize(
    "header", ["bytes=0-1,5-6", "items=0-5", "bytes=9-3", "bytes=abc", "bytes=-"]
)
async def test_other_ranges_are_ignored(browser: AsyncClient, header: str) -> None:
    """Multiple ranges, other units and malformed ones get the whole object (RFC 9110)."""
    digest = await upload_blob(browser, DATA)
    response = await browser.get(f"/api/v1/blobs/download/{digest}", headers={"Range": header})
    assert response.status_code == 200
    assert response.content == DATA


async def test_if_range_with_another_etag_gets_everything(browser: AsyncClient) -> None:
    digest = await upload_blob(browser, DATA)
    url = f"/api/v1/blobs/download/{digest}"
    stale = await browser.get(url, headers={"Range": "bytes=0-9", "If-Range": '"other"'})
    assert stale.status_code == 200 and stale.content == DATA
    fresh = await browser.get(url, headers={"Range": "bytes=0-9", "If-Range": f'"{digest}"'})
    assert fresh.status_code == 206 and fresh.content == DATA[:10]


async def test_if_none_match_is_304(browser: AsyncClient) -> None:
    digest = await upload_blob(browser, DATA)
    url = f"/api/v1/blobs/download/{digest}"
    response = await browser.get(url, headers={"If-None-Match": f'"{digest}"'})
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == f'"{digest}"'
    other = await browser.get(url, headers={"If-None-Match": '"something-else"'})
    assert other.status_code == 200 and other.content == DATA


async def test_large_blob_streams_back_intact(browser: AsyncClient) -> None:
    data = os.urandom(5 * 1024 * 1024 + 17)  # several store chunks
    digest = await upload_blob(browser, data)
    async with browser.stream("GET", f"/api/v1/blobs/download/{digest}") as response:
        assert response.status_code == 200
        chunks = [chunk async for chunk in response.aiter_bytes()]
    assert b"".join(chunks) == data
    tail = await browser.get(
        f"/api/v1/blobs/download/{digest}", headers={"Range": f"bytes={len(data) - 100}-"}
    )
    assert tail.content == data[-100:]


async def test_unknown_hash_is_404(browser: AsyncClient) -> None:
    response = await browser.get(f"/api/v1/blobs/download/{'a' * 64}")
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
