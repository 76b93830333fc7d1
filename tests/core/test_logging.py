"""Logs: one JSON object per line with the request's context; the access log names the route
template and the caller; credentials never reach any line, HTTP or WebSocket."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.conversations.util import ws_client
from tests.helpers import SignedInFactory, new_client
from tests.live import live_orbiter

SECRET = "orbt_secret"
CREDENTIAL_HEADERS = {
    "Authorization": "Bearer orbt_header_secret",
    "X-API-Key": "orb_header_secret",
    "Cookie": "orbiter_session=cookie_secret",
    "X-CSRF-Token": "csrf_secret",
}


@pytest.fixture
async def json_app(migrated: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(migrated.model_copy(update={"log_format": "json", "log_level": "INFO"}))
    async with LifespanManager(app):
        yield app


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


async def _refused_websocket(app: FastAPI, path: str) -> None:
    with pytest.raises(BaseException):  # noqa: B017 - refusal surfaces as various errors
        async with (
            ws_client(app) as client,
            aconnect_ws(path, client, session_class=AsyncWebSocketSession) as ws,
        ):
            await ws.receive_text(timeout=5)


async def test_the_access_log_is_one_json_object_per_request_with_its_context(
    json_app: FastAPI,
    signed_in: SignedInFactory,
    capsys: pytest.CaptureFixture[str],
) -> None:
    user = await signed_in()
    project_id = (await user.api.get("/api/v1/projects")).json()["data"][0]["id"]
    capsys.readouterr()
    async with new_client(json_app, **{"X-API-Key": user.api_key}) as client:
        response = await client.get(f"/api/v1/projects/{project_id}")
    assert response.status_code == 200, response.text
    access = [line for line in _lines(capsys.readouterr().err) if line["event"] == "request"]
    assert len(access) == 1
    assert access[0] | {"time": "-", "duration_ms": 0} == {
        "time": "-",
        "level": "info",
        "event": "request",
        "logger": "orbiter.access",
        "request_id": response.headers["X-Request-ID"],
        "user_id": user.user["id"],
        "route": "/api/v1/projects/{project_id}",
        "method": "GET",
        "path": f"/api/v1/projects/{project_id}",
        "status": 200,
        "duration_ms": 0,
        "client_ip": "127.0.0.1",
    }
    assert access[0]["time"].endswith("Z") and access[0]["duration_ms"] > 0


async def test_library_logs_go_through_the_same_formatter_with_the_request_id(
    json_app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    async def noisy() -> dict[str, str]:
        logging.getLogger("some.library").warning("retrying %s after %d s", "upstream", 2)
        return {}

    json_app.add_api_route("/noisy", noisy)
    capsys.readouterr()
    async with new_client(json_app) as client:
        response = await client.get("/noisy")
    lines = _lines(capsys.readouterr().err)
    library = next(line for line in lines if line["logger"] == "some.library")
    assert library["event"] == "retrying upstream after 2 s" and library["level"] == "warning"
    assert library["request_id"] == response.headers["X-Request-ID"]


async def test_credentials_in_query_strings_and_headers_never_reach_the_log(
    json_app: FastAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    async with new_client(json_app, **CREDENTIAL_HEADERS) as client:
        await client.get(f"/api/v1/projects?token={SECRET}&access_token={SECRET}&code=oauth_code1")
        await client.get(f"/nowhere?token={SECRET}")
        await client.post("/api/v1/hooks/workflows/orbw_hook_secret", json={})  # in the path
    stream = f"/api/v1/conversations/{uuid.uuid4()}/stream?token={SECRET}"
    await _refused_websocket(json_app, stream)
    logging.getLogger("some.library").error(
        "fetching https://x.example/cb?code=abc&token=%s", SECRET
    )
    output = capsys.readouterr().err
    secrets = (
        SECRET,
        "oauth_code1",
        "header_secret",
        "cookie_secret",
        "csrf_secret",
        "hook_secret",
    )
    for secret in secrets:
        assert secret not in output
    access = [line for line in _lines(output) if line["event"] == "request"]
    assert [line["status"] for line in access] == [401, 404, 404, 403]
    assert access[2]["path"] == "/api/v1/hooks/workflows/orbw_[REDACTED]"
    assert access[0]["path"] == (
        "/api/v1/projects?token=[REDACTED]&access_token=[REDACTED]&code=[REDACTED]"
    )
    assert access[3]["route"] == "/api/v1/conversations/{conversation_id}/stream"
    assert access[3]["method"] == "WEBSOCKET"


async def test_text_format_is_one_readable_line(
    migrated: Settings, capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app(migrated.model_copy(update={"log_format": "text", "log_level": "INFO"}))
    async with LifespanManager(app), new_client(app) as client:
        capsys.readouterr()
        await client.get(f"/health?token={SECRET}")
    line = next(x for x in capsys.readouterr().err.splitlines() if "orbiter.access" in x)
    assert not line.startswith("{") and "request" in line and "route=/health" in line
    assert "token=[REDACTED]" in line and SECRET not in line


def test_a_live_server_logs_no_credentials_on_http_or_websocket(
    app: FastAPI, tmp_path: Path
) -> None:
    """Through uvicorn, whose own lines (the refused WebSocket upgrade) go through ours too."""
    import asyncio

    env = {"ORBITER_LOG_FORMAT": "json", "ORBITER_LOG_LEVEL": "INFO"}
    with live_orbiter(tmp_path, **env) as server:
        import httpx

        httpx.get(f"{server.base_url}/api/v1/projects?token={SECRET}", headers=CREDENTIAL_HEADERS)
        stream = f"{server.base_url}/api/v1/conversations/{uuid.uuid4()}/stream?token={SECRET}"

        async def connect() -> None:
            with pytest.raises(BaseException):  # noqa: B017 - the upgrade is refused
                async with httpx.AsyncClient() as client, aconnect_ws(stream, client):
                    pass

        asyncio.run(connect())
    output = server.output()
    assert "/stream?token=[REDACTED]" in output  # the WebSocket attempt was logged, redacted
    for secret in (SECRET, "header_secret", "cookie_secret", "csrf_secret"):
        assert secret not in output
    for line in _lines(output):
        assert {"time", "level", "event"} <= set(line)
    assert not [x for x in output.splitlines() if x.strip() and not x.startswith("{")], output
