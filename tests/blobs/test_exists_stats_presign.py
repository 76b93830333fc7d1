"""POST /blobs/exists, GET /blobs/stats, POST /blobs/presign-upload and presign-download."""

from __future__ import annotations

import base64
import hashlib
import os
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from httpx import AsyncClient

from orbiter.blobs.manifest import blob_key
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256, upload_blob, upload_manifest
from tests.helpers import assert_error


async def test_exists_splits_missing_and_existing_in_request_order(browser: AsyncClient) -> None:
    have = [await upload_blob(browser, os.urandom(10)) for _ in range(2)]
    lacking = sha256(os.urandom(10))
    hashes = [lacking, have[1], have[0], lacking]  # duplicates count once
    response = await browser.post("/api/v1/blobs/exists", json={"hashes": hashes})
    assert response.status_code == 200
    assert response.json() == {"missing": [lacking], "existing": [have[1], have[0]], "checked": 3}


async def test_exists_with_no_hashes(browser: AsyncClient) -> None:
    response = await browser.post("/api/v1/blobs/exists", json={"hashes": []})
    assert response.json() == {"missing": [], "existing": [], "checked": 0}


async def test_exists_accepts_100_hashes_and_refuses_101(browser: AsyncClient) -> None:
    hashes = [sha256(str(n).encode()) for n in range(101)]
    ok = await browser.post("/api/v1/blobs/exists", json={"hashes": hashes[:100]})
    assert ok.status_code == 200 and ok.json()["checked"] == 100
    too_many = await browser.post("/api/v1/blobs/exists", json={"hashes": hashes})
    error = assert_error(too_many, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "hashes"


@pytest.mark.parametrize(
    "body",
    [
        {"hashes": ["not-a-hash"]},
        {"hashes": ["A" * 64]},
        {"hashes": "0" * 64},
        {},
        {"hashes": [], "extra": 1},
    ],
)
async def test_exists_validates_every_hash(browser: AsyncClient, body: object) -> None:
    for route in ("exists", "presign-upload", "presign-download"):
        response = await browser.post(f"/api/v1/blobs/{route}", json=body)
        assert_error(response, 422, "VALIDATION_ERROR")


async def test_invalid_hash_message_is_clear(browser: AsyncClient) -> None:
    response = await browser.post("/api/v1/blobs/exists", json={"hashes": ["0" * 64, "xyz"]})
    error = assert_error(response, 422, "VALIDATION_ERROR")
    field = error["details"]["fields"][0]
    assert field["field"] == "hashes.1"
    assert "64 lowercase hex" in field["message"]


async def test_stats_counts_the_callers_objects(browser: AsyncClient) -> None:
    empty = await browser.get("/api/v1/blobs/stats")
    assert empty.json() == {
        "blobs": {"count": 0, "bytes": 0, "mb": 0.0},
        "manifests": {"count": 0, "bytes": 0, "mb": 0.0},
        "total": {"bytes": 0, "mb": 0.0},
    }
    big = os.urandom(1024 * 1024 + 512 * 1024)  # 1.5 MB
    small = os.urandom(100)
    await upload_blob(browser, big)
    await upload_blob(browser, small)
    await upload_blob(browser, small)  # again: still one
    await upload_manifest(
        browser, [{"path": "big.bin", "hash": sha256(big), "size": len(big), "mode": 420}]
    )
    body = (await browser.get("/api/v1/blobs/stats")).json()
    assert body["blobs"] == {"count": 2, "bytes": len(big) + 100, "mb": 1.5}
    assert body["manifests"]["count"] == 1
    manifest_bytes = body["manifests"]["bytes"]
    assert body["total"] == {"bytes": len(big) + 100 + manifest_bytes, "mb": 1.5}


async def test_presign_download_only_for_owned_blobs(
    browser: AsyncClient, backend: str, resources: Resources
) -> None:
    data = os.urandom(300)
    digest = await upload_blob(browser, data)
    stranger = sha256(os.urandom(8))
    response = await browser.post(
        "/api/v1/blobs/presign-download", json={"hashes": [digest, stranger]}
    )
    assert response.status_code == 200
    urls = response.json()["urls"]
    assert list(urls) == [digest]
    if backend == "embedded":
        assert urls[digest] == f"http://testserver/api/v1/blobs/download/{digest}"
        assert (await browser.get(urls[digest])).content == data
    else:  # a real presigned S3 URL: no credentials needed
        async with httpx.AsyncClient() as anonymous:
            fetched = await anonymous.get(urls[digest])
        assert fetched.status_code == 200 and fetched.content == data


async def test_presigned_urls_use_the_public_url(
    browser: AsyncClient, backend: str, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    if backend != "embedded":
        pytest.skip("S3 URLs point at the bucket")
    monkeypatch.setattr(resources.settings, "public_url", "https://orbiter.example.com/")
    digest = await upload_blob(browser, os.urandom(20))
    up = await browser.post("/api/v1/blobs/presign-upload", json={"hashes": [digest]})
    down = await browser.post("/api/v1/blobs/presign-download", json={"hashes": [digest]})
    assert up.json() == {
        "urls": {digest: f"https://orbiter.example.com/api/v1/blobs/upload/{digest}"}
    }
    assert down.json() == {
        "urls": {digest: f"https://orbiter.example.com/api/v1/blobs/download/{digest}"}
    }


async def test_presign_upload_on_local_storage_is_the_api_route(
    browser: AsyncClient, backend: str
) -> None:
    if backend != "embedded":
        pytest.skip("local storage only")
    data = os.urandom(50)
    response = await browser.post("/api/v1/blobs/presign-upload", json={"hashes": [sha256(data)]})
    url = response.json()["urls"][sha256(data)]
    assert url == f"http://testserver/api/v1/blobs/upload/{sha256(data)}"
    uploaded = await browser.put(url, content=data)
    assert uploaded.status_code == 201


def checksum_header(data: bytes) -> dict[str, str]:
    return {"x-amz-checksum-sha256": base64.b64encode(hashlib.sha256(data).digest()).decode()}


async def test_presigned_s3_upload_is_verified_then_adopted(
    browser: AsyncClient, backend: str, resources: Resources
) -> None:
    if backend != "services":
        pytest.skip("S3 only")
    data = os.urandom(4000)
    digest = sha256(data)
    response = await browser.post("/api/v1/blobs/presign-upload", json={"hashes": [digest]})
    url = response.json()["urls"][digest]
    signed = parse_qs(urlparse(url).query)["X-Amz-SignedHeaders"][0]
    assert "x-amz-checksum-sha256" in signed.split(";")  # S3 refuses other bytes
    assert str(digest) in urlparse(url).path and "/staging/" in urlparse(url).path

    async with httpx.AsyncClient() as anonymous:
        put = await anonymous.put(url, content=data, headers=checksum_header(data))
    assert put.status_code == 200, put.text
    # Not visible before the server verified it.
    assert (await browser.get(f"/api/v1/blobs/download/{digest}")).status_code == 404

    exists = await browser.post("/api/v1/blobs/exists", json={"hashes": [digest]})
    assert exists.json() == {"missing": [], "existing": [digest], "checked": 1}
    assert (await browser.get(f"/api/v1/blobs/download/{digest}")).content == data
    assert await resources.blobs.exists(blob_key(digest))
    stats = (await browser.get("/api/v1/blobs/stats")).json()
    assert stats["blobs"] == {"count": 1, "bytes": 4000, "mb": 0.0}


async def test_presigned_s3_upload_of_other_bytes_is_discarded(
    browser: AsyncClient, backend: str, resources: Resources
) -> None:
    """Real S3 refuses the PUT (BadDigest); a store that does not (moto) is caught at adoption."""
    if backend != "services":
        pytest.skip("S3 only")
    claimed = sha256(os.urandom(30))
    response = await browser.post("/api/v1/blobs/presign-upload", json={"hashes": [claimed]})
    url = response.json()["urls"][claimed]
    evil = b"not the bytes that were promised"
    async with httpx.AsyncClient() as anonymous:
        put = await anonymous.put(url, content=evil, headers=checksum_header(evil))
    if put.status_code >= 400:
        return  # the store enforced the signed checksum itself
    exists = await browser.post("/api/v1/blobs/exists", json={"hashes": [claimed]})
    assert exists.json() == {"missing": [claimed], "existing": [], "checked": 1}
    assert not await resources.blobs.exists(blob_key(claimed))
    staged = urlparse(url).path.split("/", 2)[2]  # /<bucket>/<key>
    assert not await resources.blobs.exists(staged)
    assert (await browser.get("/api/v1/blobs/stats")).json()["blobs"]["count"] == 0
