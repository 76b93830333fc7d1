"""Request bodies: capped while read (413), cut off when they stall (408), JSON routes take only
JSON (415). Each check runs before authentication and validation, on every route it concerns."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from sqlalchemy import func, select

from orbiter.core.body_limits import LARGER_BODIES
from orbiter.models import ObjectOwner, StoredObject
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedIn, assert_error, fill_path
from tests.sse import parse_sse

CHUNK = 64 * 1024
# Routes that parse their own body (form or JSON), so any media type reaches them; a workflow's
# webhook takes a JSON object whatever its senders call it.
SELF_PARSING = {
    ("POST", f"{API}/oauth/device"),
    ("POST", f"{API}/oauth/token"),
    ("POST", f"{API}/hooks/workflows/{{token}}"),
}


def json_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation whose OpenAPI body is JSON described by a schema (a pydantic body)."""
    found = []
    for path, operations in app.openapi()["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if list(content) == ["application/json"] and schema.get("format") != "binary":
                found.append((method.upper(), path))
    return found


class Drip:
    """A request body the test controls: counts what the server pulled, can stall."""

    def __init__(self, chunks: int, *, stall_after: int | None = None) -> None:
        self.chunks, self.stall_after, self.sent = chunks, stall_after, 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index in range(self.chunks):
            if index == self.stall_after:
                await asyncio.sleep(30)
            self.sent += CHUNK
            yield b" " * CHUNK


async def test_a_declared_length_over_the_cap_is_413_before_authentication(
    client: AsyncClient, resources: Resources
) -> None:
    cap = resources.settings.max_json_bytes
    assert cap == 1024**2  # the documented default
    body = b"{" + b" " * cap + b"}"
    for path in ("/auth/login", "/projects", "/api-keys"):  # public, and two needing a principal
        response = await client.post(
            API + path, content=body, headers={"Content-Type": "application/json"}
        )
        error = assert_error(response, 413, "PAYLOAD_TOO_LARGE")
        assert error["details"] == {"max_bytes": cap}
        assert response.headers["X-Request-ID"]
        assert response.headers["Connection"] == "close"


async def test_a_body_without_length_is_cut_at_the_cap_and_never_read_further(
    client: AsyncClient, resources: Resources
) -> None:
    drip = Drip(chunks=200)  # 12.5 MiB offered, chunked
    response = await client.post(
        f"{API}/projects", content=drip, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")
    assert drip.sent <= resources.settings.max_json_bytes + CHUNK


async def test_a_body_at_the_cap_is_read_and_validated_as_usual(
    client: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_json_bytes", 4096)
    payload = json.dumps({"email": "a@example.com", "password": "x" * 10}).encode()
    at_cap = payload[:-1] + b" " * (4096 - len(payload)) + b"}"
    assert len(at_cap) == 4096
    response = await client.post(
        f"{API}/auth/login", content=at_cap, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 401, "UNAUTHORIZED")
    response = await client.post(
        f"{API}/auth/login", content=at_cap + b" ", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


async def test_every_json_route_is_capped_and_refuses_other_media_types(
    app: FastAPI, client: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.limiter, "enabled", False)  # one anonymous IP, many routes
    for name in ("max_json_bytes", "max_blob_bytes", "max_manifest_bytes"):
        monkeypatch.setattr(resources.settings, name, 1024)
    routes = [route for route in json_routes(app) if route not in SELF_PARSING]
    assert len(routes) > 25
    big = b"[" + b" " * 64 * 1024 * 1024 + b"]"  # over every declared limit
    for method, path in routes:
        url = fill_path(path)
        for content_type in ("text/plain", "application/x-www-form-urlencoded", "text/json"):
            response = await client.request(
                method, url, content=b'{"a": 1}', headers={"Content-Type": content_type}
            )
            assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")
        missing = await client.request(method, url, content=b'{"a": 1}')
        assert_error(missing, 415, "UNSUPPORTED_MEDIA_TYPE")
        response = await client.request(
            method, url, content=big, headers={"Content-Type": "application/json"}
        )
        assert_error(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "application/merge-patch+json"],
)
async def test_json_media_types_with_parameters_or_suffix_are_accepted(
    client: AsyncClient, content_type: str
) -> None:
    response = await client.post(
        f"{API}/auth/register",
        content=json.dumps({"email": "not-an-email", "password": "p"}).encode(),
        headers={"Content-Type": content_type},
    )
    assert_error(response, 422, "VALIDATION_ERROR")


async def test_the_device_flow_still_takes_form_and_json(client: AsyncClient) -> None:
    form = await client.post(f"{API}/oauth/device", data={"client_id": "cli"})
    assert form.status_code == 200, form.text
    as_json = await client.post(f"{API}/oauth/device", json={"client_id": "cli"})
    assert as_json.status_code == 200, as_json.text
    for body in (
        {"data": {"grant_type": "x", "device_code": "y"}},
        {"json": {"grant_type": "x", "device_code": "y"}},
    ):
        token = await client.post(f"{API}/oauth/token", **body)  # type: ignore[arg-type]
        assert token.status_code == 400 and token.json()["error"] == "unsupported_grant_type"


async def test_routes_with_larger_limits_exist_and_take_bodies_over_the_default(
    app: FastAPI, signed_in: Any
) -> None:
    operations = {
        (method.upper(), path)
        for path, ops in app.openapi()["paths"].items()
        for method in ops
        if path.startswith(API)
    }
    assert {(method, API + path) for method, path in LARGER_BODIES} <= operations

    user: SignedIn = await signed_in()
    project = (await user.api.post(f"{API}/projects", json={"name": "big"})).json()["id"]
    value = "v" * 60_000
    variables = [{"key": f"K{i}", "value": value, "is_secret": False} for i in range(40)]
    response = await user.api.put(
        f"{API}/projects/{project}/env-vars", json={"variables": variables}
    )
    assert response.status_code == 200, response.text[:300]

    blob = b"b" * (3 * 1024 * 1024)
    uploaded = await user.api.put(f"{API}/blobs/upload/{sha256(blob)}", content=blob)
    assert uploaded.status_code == 201, uploaded.text


async def test_a_stalled_json_body_is_408_and_the_connection_closed(
    client: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "body_receive_timeout_seconds", 0.2)
    response = await client.post(
        f"{API}/auth/register",
        content=Drip(chunks=3, stall_after=1),
        headers={"Content-Type": "application/json"},
    )
    assert_error(response, 408, "REQUEST_TIMEOUT")
    assert response.headers["Connection"] == "close"
    assert response.headers["X-Request-ID"]


async def test_a_stalled_blob_upload_is_408_and_leaves_no_object_and_no_row(
    signed_in: Any, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    user: SignedIn = await signed_in()
    monkeypatch.setattr(resources.settings, "body_receive_timeout_seconds", 0.2)
    never_complete = b" " * (CHUNK * 3)
    digest = sha256(never_complete)
    response = await user.api.put(
        f"{API}/blobs/upload/{digest}", content=Drip(chunks=3, stall_after=2)
    )
    assert_error(response, 408, "REQUEST_TIMEOUT")

    assert not await resources.blobs.exists(f"blobs/{digest[:2]}/{digest[2:4]}/{digest}")
    async with resources.sessionmaker() as db:
        assert await db.scalar(select(func.count()).select_from(StoredObject)) == 0
        assert await db.scalar(select(func.count()).select_from(ObjectOwner)) == 0
    assert_error(await user.api.get(f"{API}/blobs/download/{digest}"), 404, "RESOURCE_NOT_FOUND")
    # The same bytes sent in full afterwards are stored as usual.
    again = await user.api.put(f"{API}/blobs/upload/{digest}", content=never_complete)
    assert again.status_code == 201, again.text


async def test_the_timeout_does_not_cut_a_slow_streamed_response(
    signed_in: Any, fake_llm: FakeLLM, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the body is complete, waiting for the client to go away is not timed."""
    user: SignedIn = await signed_in()
    await create_fake_provider(user.browser, fake_llm, "openai")
    fake_llm.state.delay_before, fake_llm.state.delay_between = 0.0, 0.15
    monkeypatch.setattr(resources.settings, "body_receive_timeout_seconds", 0.05)
    response = await user.api.post(
        f"{API}/chat",
        json={"messages": [{"role": "user", "content": "one two three"}], "model": "slow"},
    )
    assert response.status_code == 200, response.text
    assert parse_sse(response.text)[-1].event == "done"
