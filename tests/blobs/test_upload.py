"""PUT /blobs/upload/{hash}: verified, streamed, deduplicated uploads that leave nothing on failure."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest
from httpx import AsyncClient

from orbiter.blobs.manifest import blob_key
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256, upload_blob
from tests.helpers import SignedInFactory, assert_error


async def exists(client: AsyncClient, *hashes: str) -> dict[str, object]:
    response = await client.post("/api/v1/blobs/exists", json={"hashes": list(hashes)})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


async def stats(client: AsyncClient) -> dict[str, dict[str, float]]:
    response = await client.get("/api/v1/blobs/stats")
    assert response.status_code == 200, response.text
    body: dict[str, dict[str, float]] = response.json()
    return body


async def test_upload_stores_bytes_under_their_hash(browser: AsyncClient) -> None:
    data = os.urandom(3000)
    digest = sha256(data)
    response = await browser.put(f"/api/v1/blobs/upload/{digest}", content=data)
    assert response.status_code == 201, response.text
    assert response.json() == {"hash": digest, "size": 3000, "created": True}
    assert await exists(browser, digest) == {"missing": [], "existing": [digest], "checked": 1}
    download = await browser.get(f"/api/v1/blobs/download/{digest}")
    assert download.status_code == 200
    assert download.content == data


async def test_every_auth_method_can_upload(signed_in: SignedInFactory) -> None:
    user = await signed_in()
    for name, client in user.clients().items():
        data = f"uploaded with {name}".encode()
        response = await client.put(f"/api/v1/blobs/upload/{sha256(data)}", content=data)
        assert response.status_code == 201, (name, response.text)


async def test_empty_blob(browser: AsyncClient) -> None:
    digest = sha256(b"")
    response = await browser.put(f"/api/v1/blobs/upload/{digest}", content=b"")
    # 200 when another test stored the empty blob earlier: objects outlive rows between tests.
    assert response.status_code in (200, 201), response.text
    assert response.json()["size"] == 0
    download = await browser.get(f"/api/v1/blobs/download/{digest}")
    assert download.status_code == 200 and download.content == b""
    assert download.headers["content-length"] == "0"


async def test_streamed_body_in_many_chunks(browser: AsyncClient) -> None:
    parts = [os.urandom(100_000) for _ in range(30)]  # 3 MB, regrouped into 1 MiB writes
    data = b"".join(parts)

    async def body() -> AsyncIterator[bytes]:
        for part in parts:
            yield part

    response = await browser.put(f"/api/v1/blobs/upload/{sha256(data)}", content=body())
    assert response.status_code == 201, response.text
    assert response.json()["size"] == len(data)
    download = await browser.get(f"/api/v1/blobs/download/{sha256(data)}")
    assert download.content == data


async def test_mismatched_bytes_are_refused_and_leave_nothing(
    browser: AsyncClient, resources: Resources
) -> None:
    claimed = sha256(b"what the client meant to send")
    response = await browser.put(f"/api/v1/blobs/upload/{claimed}", content=b"something else")
    error = assert_error(response, 400, "BAD_REQUEST")
    assert error["details"]["expected"] == claimed
    assert error["details"]["actual"] == sha256(b"something else")
    assert await exists(browser, claimed) == {"missing": [claimed], "existing": [], "checked": 1}
    assert (await stats(browser))["blobs"]["count"] == 0
    assert not await resources.blobs.exists(blob_key(claimed))
    assert not await resources.blobs.exists(blob_key(sha256(b"something else")))
    assert (await browser.get(f"/api/v1/blobs/download/{claimed}")).status_code == 404


async def test_mismatch_of_a_multi_part_stream_leaves_nothing(
    browser: AsyncClient, resources: Resources
) -> None:
    """Big enough for several store writes (and an S3 multipart upload), then wrong."""
    size = 9 * 1024 * 1024 + 123
    claimed = sha256(b"x" * size)

    async def body() -> AsyncIterator[bytes]:
        for _ in range(9):
            yield b"x" * (1024 * 1024)
        yield b"y" * 123

    response = await browser.put(f"/api/v1/blobs/upload/{claimed}", content=body())
    assert_error(response, 400, "BAD_REQUEST")
    assert not await resources.blobs.exists(blob_key(claimed))
    assert (await stats(browser))["blobs"]["count"] == 0
    if hasattr(resources.blobs, "temp_dir"):
        assert list(resources.blobs.temp_dir.iterdir()) == []


async def test_body_over_the_limit_is_413_from_content_length(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_blob_bytes", 1000)
    consumed = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal consumed
        for _ in range(10):
            consumed += 1
            yield b"z" * 500

    data = b"z" * 5000
    response = await browser.put(
        f"/api/v1/blobs/upload/{sha256(data)}",
        content=body(),
        headers={"Content-Length": "5000"},
    )
    error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert error["details"] == {"max_bytes": 1000}
    assert consumed < 10  # refused before the body was read in full
    assert await exists(browser, sha256(data)) == {
        "missing": [sha256(data)],
        "existing": [],
        "checked": 1,
    }


async def test_body_over_the_limit_without_content_length_is_413_while_streaming(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_blob_bytes", 1000)
    data = b"q" * 1500

    async def body() -> AsyncIterator[bytes]:  # chunked: no Content-Length
        yield data[:700]
        yield data[700:]

    response = await browser.put(f"/api/v1/blobs/upload/{sha256(data)}", content=body())
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert not await resources.blobs.exists(blob_key(sha256(data)))
    assert (await stats(browser))["blobs"]["count"] == 0


async def test_body_at_the_limit_is_accepted(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_blob_bytes", 1000)
    data = os.urandom(1000)
    response = await browser.put(f"/api/v1/blobs/upload/{sha256(data)}", content=data)
    assert response.status_code == 201, response.text


@pytest.mark.parametrize(
    "bad_hash",
    [
        "abc",
        "A" * 64,  # uppercase is not the canonical form
        "g" * 64,
        "0" * 63,
        "0" * 65,
    ],
)
async def test_invalid_hash_in_the_path_is_422(browser: AsyncClient, bad_hash: str) -> None:
    response = await browser.put(f"/api/v1/blobs/upload/{bad_hash}", content=b"data")
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "hash"
    download = await browser.get(f"/api/v1/blobs/download/{bad_hash}")
    assert_error(download, 422, "VALIDATION_ERROR")


async def test_upload_needs_authentication(client: AsyncClient) -> None:
    data = b"anonymous"
    response = await client.put(f"/api/v1/blobs/upload/{sha256(data)}", content=data)
    assert_error(response, 401, "UNAUTHORIZED")


async def test_cookie_upload_needs_csrf_token(browser: AsyncClient) -> None:
    data = b"no csrf"
    response = await browser.put(
        f"/api/v1/blobs/upload/{sha256(data)}", content=data, headers={"X-CSRF-Token": ""}
    )
    assert_error(response, 403, "FORBIDDEN")
    assert (await stats(browser))["blobs"]["count"] == 0


async def test_same_bytes_twice_is_200_not_created(browser: AsyncClient) -> None:
    data = os.urandom(500)
    first = await browser.put(f"/api/v1/blobs/upload/{sha256(data)}", content=data)
    again = await browser.put(f"/api/v1/blobs/upload/{sha256(data)}", content=data)
    assert first.status_code == 201
    assert again.status_code == 200, again.text
    assert again.json() == {"hash": sha256(data), "size": 500, "created": False}
    assert (await stats(browser))["blobs"] == {"count": 1, "bytes": 500, "mb": 0.0}


async def test_dedup_needs_proof_of_possession(signed_in: SignedInFactory) -> None:
    """User B sees A's blob only after uploading the same bytes; it is stored once."""
    alice, bob = await signed_in(), await signed_in()
    data = os.urandom(2048)
    digest = await upload_blob(alice.api, data)

    assert await exists(bob.api, digest) == {"missing": [digest], "existing": [], "checked": 1}
    for client in bob.clients().values():
        assert_error(
            await client.get(f"/api/v1/blobs/download/{digest}"), 404, "RESOURCE_NOT_FOUND"
        )

    wrong = await bob.api.put(f"/api/v1/blobs/upload/{digest}", content=b"guessing")
    assert_error(wrong, 400, "BAD_REQUEST")
    assert (await exists(bob.api, digest))["missing"] == [digest]

    proved = await bob.api.put(f"/api/v1/blobs/upload/{digest}", content=data)
    # 201 as for bytes nobody has: the answer never tells that Alice stored them.
    assert proved.status_code == 201, proved.text
    assert proved.json() == {"hash": digest, "size": 2048, "created": True}
    assert (await exists(bob.api, digest))["existing"] == [digest]
    download = await bob.cli.get(f"/api/v1/blobs/download/{digest}")
    assert download.status_code == 200 and download.content == data
    assert (await stats(bob.api))["blobs"]["count"] == 1
    assert (await stats(alice.api))["blobs"]["count"] == 1
