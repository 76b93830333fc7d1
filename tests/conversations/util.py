"""Helpers for conversation tests: a streaming ASGI transport (httpx's buffers whole bodies,
so a client could never drop mid-stream) and WebSocket clients."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
from fastapi import FastAPI
from httpx import AsyncClient
from httpx_ws.transport import ASGIWebSocketTransport

from tests.helpers import BASE_URL


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, queue: asyncio.Queue[Any], disconnected: asyncio.Event, task: asyncio.Task[None]
    ) -> None:
        self._queue, self._disconnected, self._task = queue, disconnected, task

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._queue.get()
            if message is None:
                return
            if isinstance(message, BaseException):
                raise message
            if message.get("body"):
                yield message["body"]
            if not message.get("more_body", False):
                return

    async def aclose(self) -> None:
        """The client goes away: the app hears `http.disconnect`."""
        self._disconnected.set()
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(self._task), 10)


class StreamingASGITransport(httpx.AsyncBaseTransport):
    """Runs the app per request and hands the body over as it is sent."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": request.method,
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "root_path": "",
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 50000),
            "server": (request.url.host, request.url.port or 80),
            "extensions": {},
        }
        queue: asyncio.Queue[Any] = asyncio.Queue()
        disconnected = asyncio.Event()
        sent_body = False

        async def receive() -> dict[str, Any]:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await disconnected.wait()
            return {"type": "http.disconnect"}

        async def send(message: MutableMapping[str, Any]) -> None:
            await queue.put(message)

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except Exception as exc:
                await queue.put(exc)
            finally:
                await queue.put(None)

        task = asyncio.create_task(run())
        start = await queue.get()
        if isinstance(start, BaseException):
            raise start
        assert start["type"] == "http.response.start", start
        return httpx.Response(
            start["status"],
            headers=[(k, v) for k, v in start.get("headers", [])],
            stream=_Body(queue, disconnected, task),
            request=request,
        )


def streaming_client(app: FastAPI, like: AsyncClient) -> AsyncClient:
    """A client with `like`'s credentials (headers, cookies) whose responses really stream."""
    return AsyncClient(
        transport=StreamingASGITransport(app),
        base_url=BASE_URL,
        headers=dict(like.headers),
        cookies=like.cookies,
    )


def ws_client(app: FastAPI, **headers: str) -> AsyncClient:
    return AsyncClient(
        transport=ASGIWebSocketTransport(app=app, initial_receive_timeout=10),
        base_url=BASE_URL,
        headers=headers,
    )


async def new_conversation(client: AsyncClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/api/v1/conversations", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_for_status(
    client: AsyncClient, conversation_id: str, status: str, timeout: float = 20
) -> list[dict[str, Any]]:
    """Poll the messages until the last one has `status`."""
    async with asyncio.timeout(timeout):
        while True:
            response = await client.get(f"/api/v1/conversations/{conversation_id}/messages")
            assert response.status_code == 200, response.text
            data = response.json()["data"]
            if data and data[-1]["status"] == status:
                return data  # type: ignore[no-any-return]
            await asyncio.sleep(0.1)
