"""Every failure is the one envelope; every response has a request id and security headers."""

from __future__ import annotations

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.helpers import assert_error, new_client


async def test_unknown_route_is_404_envelope(client: AsyncClient) -> None:
    assert_error(await client.get("/api/v1/does-not-exist"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await client.get("/nowhere"), 404, "RESOURCE_NOT_FOUND")


async def test_wrong_method_is_405_envelope(client: AsyncClient) -> None:
    assert_error(await client.delete("/api/v1/auth/register"), 405, "METHOD_NOT_ALLOWED")


async def test_malformed_json_is_400_envelope(client: AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/register", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "BAD_REQUEST")


async def test_validation_errors_list_the_fields(client: AsyncClient) -> None:
    error = assert_error(
        await client.post("/api/v1/auth/register", json={}), 422, "VALIDATION_ERROR"
    )
    fields = {f["field"] for f in error["details"]["fields"]}
    assert fields == {"email", "password"}
    assert all({"field", "message", "type"} <= set(f) for f in error["details"]["fields"])


async def test_path_parameters_are_validated(client: AsyncClient, app: FastAPI) -> None:
    from tests.helpers import sign_in_everywhere

    user = await sign_in_everywhere(app)
    assert_error(await user.api.get("/api/v1/projects/not-a-uuid"), 422, "VALIDATION_ERROR")
    await user.aclose()


async def test_unexpected_errors_are_a_generic_500_with_the_request_id(
    migrated: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = create_app(migrated)

    async def explode() -> None:
        raise RuntimeError("secret database detail")

    app.add_api_route("/explode", explode)
    async with LifespanManager(app), new_client(app) as client:
        response = await client.get("/explode")
    error = assert_error(response, 500, "INTERNAL_ERROR")
    assert "secret" not in response.text and "Traceback" not in response.text
    assert error["details"]["request_id"] == response.headers["X-Request-ID"]
    assert "secret database detail" in caplog.text
    assert f"request_id={error['details']['request_id']}" in caplog.text  # findable in the log


async def test_a_local_os_error_is_a_500_not_an_outage(migrated: Settings) -> None:
    app = create_app(migrated)

    async def disk_full() -> None:
        raise OSError(28, "No space left on device")

    app.add_api_route("/disk-full", disk_full)
    async with LifespanManager(app), new_client(app) as client:
        assert_error(await client.get("/disk-full"), 500, "INTERNAL_ERROR")


async def test_security_headers_and_request_id_on_every_response(client: AsyncClient) -> None:
    for response in (
        await client.get("/health"),
        await client.get("/api/v1/nope"),
        await client.get("/api/v1/auth/me"),
    ):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "default-src 'none'" in response.headers["Content-Security-Policy"]
        assert len(response.headers["X-Request-ID"]) >= 16
        assert "Strict-Transport-Security" not in response.headers  # plain HTTP here


async def test_hsts_when_served_over_https(app: FastAPI) -> None:
    async with new_client(app) as client:
        client.base_url = httpx.URL("https://testserver")
        response = await client.get("/health")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


async def test_a_client_request_id_is_echoed(client: AsyncClient) -> None:
    response = await client.get("/health", headers={"X-Request-ID": "trace-123"})
    assert response.headers["X-Request-ID"] == "trace-123"
    odd = await client.get("/health", headers={"X-Request-ID": "bad id\twith spaces"})
    assert odd.headers["X-Request-ID"] != "bad id\twith spaces"


async def test_docs_and_schema_are_served(client: AsyncClient) -> None:
    assert (await client.get("/openapi.json")).json()["info"]["title"] == "Orbiter"
    docs = await client.get("/docs")
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    assert "https:" not in docs.headers["Content-Security-Policy"]  # no CDN: tests/apidocs
    assert (await client.get("/redoc")).status_code == 200


async def test_nul_characters_are_refused_before_they_reach_the_database(app: FastAPI) -> None:
    from tests.helpers import sign_in_everywhere

    user = await sign_in_everywhere(app)
    refused = await user.api.post("/api/v1/projects", json={"name": "bad\x00name"})
    error = assert_error(refused, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"][0]["field"] == "name"
    names = [p["name"] for p in (await user.api.get("/api/v1/projects")).json()["data"]]
    assert names == ["Personal"]
    device = await user.api.post("/api/v1/oauth/device", data={"client_id": "cli\x00"})
    assert device.status_code == 400 and device.json()["error"] == "invalid_request"
    await user.aclose()


async def test_an_empty_credential_header_is_a_failed_credential_not_an_absent_one(
    app: FastAPI,
) -> None:
    from tests.helpers import browser_for

    browser, _ = await browser_for(app)
    for header in ("X-API-Key", "Authorization"):
        response = await browser.get("/api/v1/api-keys", headers={header: ""})
        assert_error(response, 401, "UNAUTHORIZED")
    assert (await browser.get("/api/v1/api-keys")).status_code == 200
    await browser.aclose()


async def test_an_unreachable_database_is_503_not_500(migrated: Settings) -> None:
    url = "postgresql+asyncpg://nobody@127.0.0.1:1/none"
    app = create_app(migrated.model_copy(update={"database_url": url}))
    async with LifespanManager(app), new_client(app) as client:
        response = await client.get("/api/v1/projects", headers={"X-API-Key": "orb_anything"})
        login = await client.post("/api/v1/auth/login", json={"email": "a@b.co", "password": "x"})
    error = assert_error(response, 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["request_id"] == response.headers["X-Request-ID"]
    assert_error(login, 503, "SERVICE_UNAVAILABLE")
