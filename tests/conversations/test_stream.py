"""The conversation WebSocket: every event reaches every subscriber (on any replica), only the
conversation's members may listen, and `last_event_id` replays what a subscriber missed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from httpx import ASGITransport, AsyncClient
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.conversations.util import new_conversation, ws_client
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import SignedIn, sign_in_everywhere

URL = "/api/v1/conversations"


@asynccontextmanager
async def _socket(
    app: FastAPI, path: str, *, cookies: Any = None, **headers: str
) -> AsyncIterator[AsyncWebSocketSession]:
    async with ws_client(app, **headers) as client:
        if cookies is not None:
            client.cookies = cookies
        async with aconnect_ws(path, client, session_class=AsyncWebSocketSession) as ws:
            yield ws


async def _receive(ws: AsyncWebSocketSession) -> dict[str, Any]:
    return json.loads(await ws.receive_text(timeout=10))  # type: ignore[no-any-return]


async def _until(ws: AsyncWebSocketSession, event: str) -> list[dict[str, Any]]:
    got = []
    while True:
        got.append(await _receive(ws))
        if got[-1]["event"] == event:
            return got


async def _refused(app: FastAPI, path: str, *, cookies: Any = None, **headers: str) -> int:
    """The close code of a refused handshake (the transport may wrap it in an ExceptionGroup)."""
    try:
        async with _socket(app, path, cookies=cookies, **headers) as ws:
            await ws.receive_text(timeout=5)
    except BaseException as exc:
        found = _disconnect(exc)
        assert found is not None, repr(exc)
        return found.code
    raise AssertionError(f"{path} was accepted")


def _disconnect(exc: BaseException) -> WebSocketDisconnect | None:
    if isinstance(exc, WebSocketDisconnect):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            if (found := _disconnect(inner)) is not None:
                return found
    return None


def _stream(cid: str, **query: str) -> str:
    suffix = "&".join(f"{k}={v}" for k, v in query.items())
    return f"{URL}/{cid}/stream" + (f"?{suffix}" if suffix else "")


async def test_subscriber_sees_the_whole_life_of_a_conversation(
    app: FastAPI, signed_in: Any, fake_llm: FakeLLM
) -> None:
    user: SignedIn = await signed_in()
    await create_fake_provider(user.browser, fake_llm, models=["echo"])
    cid = (await new_conversation(user.browser))["id"]
    async with _socket(app, _stream(cid, token=user.token)) as ws:
        posted = await user.api.post(f"{URL}/{cid}/messages", json={"content": "hi all"})
        assert posted.status_code == 200, posted.text
        events = await _until(ws, "done")
        names = [e["event"] for e in events]
        assert names[:2] == ["message.created", "message.created"]
        assert "conversation.updated" in names and "delta" in names
        title = next(e for e in events if e["event"] == "conversation.updated")
        assert title["data"]["conversation"]["title"] == "hi all"
        assert events[-1]["data"]["message"] == posted.json()["assistant_message"]
        text = "".join(e["data"]["text"] for e in events if e["event"] == "delta")
        assert text == "Echo: hi all"

        await user.browser.patch(f"{URL}/{cid}", json={"title": "Renamed"})
        renamed = await _receive(ws)
        assert renamed["event"] == "conversation.updated"
        assert renamed["data"]["conversation"]["title"] == "Renamed"
        await user.browser.post(f"{URL}/{cid}/clear")
        assert await _receive(ws) == {
            "event": "conversation.cleared",
            "id": None,
            "data": {"conversation_id": cid, "cleared": 2},
        }
        await user.browser.delete(f"{URL}/{cid}")
        deleted = await _receive(ws)
        assert deleted["event"] == "conversation.deleted"
        with pytest.raises(WebSocketDisconnect) as closed:
            await ws.receive_text(timeout=5)
        assert closed.value.code == 1000


async def test_every_credential_kind_can_subscribe(app: FastAPI, signed_in: Any) -> None:
    user: SignedIn = await signed_in()
    cid = (await new_conversation(user.browser))["id"]
    sockets = [
        _socket(app, _stream(cid, token=user.token)),
        _socket(app, _stream(cid), cookies=user.browser.cookies, Origin="http://testserver"),
        _socket(app, _stream(cid), cookies=user.browser.cookies),
        _socket(app, _stream(cid), **{"X-API-Key": user.api_key}),
        _socket(app, _stream(cid), Authorization=f"Bearer {user.token}"),
    ]
    for socket in sockets:
        async with socket as ws:
            await user.browser.patch(f"{URL}/{cid}", json={"title": "ping"})
            assert (await _receive(ws))["event"] == "conversation.updated"


async def test_refused_sockets(app: FastAPI, signed_in: Any) -> None:
    owner: SignedIn = await signed_in()
    stranger: SignedIn = await signed_in()
    cid = (await new_conversation(owner.browser))["id"]
    refusals = [
        await _refused(app, _stream(cid)),
        await _refused(app, _stream(cid, token="not-a-token")),
        await _refused(app, _stream(cid, token=owner.api_key)),  # ?token= is for bearer tokens
        await _refused(
            app, _stream(cid), cookies=owner.browser.cookies, Origin="https://evil.example"
        ),
        await _refused(app, _stream("not-a-uuid", token=owner.token)),
        await _refused(app, _stream(cid, token=owner.token, last_event_id="garbage")),
        # Another user, by every credential kind: refused exactly like a missing conversation.
        await _refused(app, _stream(cid, token=stranger.token)),
        await _refused(app, _stream(cid), cookies=stranger.browser.cookies),
        await _refused(app, _stream(cid), **{"X-API-Key": stranger.api_key}),
        await _refused(app, _stream("00000000-0000-0000-0000-000000000000", token=owner.token)),
    ]
    assert all(code in (1008, 403) for code in refusals), refusals
    assert (await owner.browser.get(f"{URL}/{cid}")).status_code == 200


async def test_last_event_id_replays_a_reply_to_a_late_subscriber(
    app: FastAPI, signed_in: Any, fake_llm: FakeLLM
) -> None:
    user: SignedIn = await signed_in()
    await create_fake_provider(user.browser, fake_llm, models=["echo"])
    cid = (await new_conversation(user.browser, title="t"))["id"]
    posted = (await user.api.post(f"{URL}/{cid}/messages", json={"content": "replay"})).json()
    assistant_id = posted["assistant_message"]["id"]
    async with _socket(
        app, _stream(cid, token=user.token, last_event_id=f"{assistant_id}:2")
    ) as ws:
        events = await _until(ws, "done")
    seqs = [int(e["id"].split(":")[1]) for e in events]
    assert seqs == list(range(3, 3 + len(events)))
    assert "".join(e["data"]["text"] for e in events if e["event"] == "delta") == "Echo: replay"


async def test_a_subscriber_on_one_replica_sees_a_reply_posted_on_another(
    app: FastAPI, settings: Settings, signed_in: Any, fake_llm: FakeLLM, backend: str
) -> None:
    if backend != "services":
        pytest.skip("replicas share events through Redis; embedded runs a single process")
    user: SignedIn = await signed_in()
    await create_fake_provider(user.browser, fake_llm, models=["echo"])
    cid = (await new_conversation(user.browser))["id"]
    replica_a, replica_b = create_app(settings), create_app(settings)
    async with (
        LifespanManager(replica_a),
        LifespanManager(replica_b),
        _socket(replica_a, _stream(cid, token=user.token)) as ws,
        AsyncClient(
            transport=ASGITransport(app=replica_b),
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {user.token}"},
        ) as on_b,
    ):
        posted = await on_b.post(f"{URL}/{cid}/messages", json={"content": "across"})
        assert posted.status_code == 200, posted.text
        events = await _until(ws, "done")
    assert events[-1]["data"]["message"]["content"] == "Echo: across"
    assert events[0]["data"]["message"]["content"] == "across"


async def test_isolation_of_every_conversation_route(
    app: FastAPI, signed_in: Any, fake_llm: FakeLLM
) -> None:
    """A second user gets 404 on every id route, by cookie, API key and bearer; nothing changes."""
    owner: SignedIn = await signed_in()
    await create_fake_provider(owner.browser, fake_llm, models=["echo"])
    conversation = await new_conversation(owner.browser, title="Mine")
    cid = conversation["id"]
    await owner.api.post(f"{URL}/{cid}/messages", json={"content": "secret"})
    before = (await owner.api.get(f"{URL}/{cid}/messages")).json()
    stranger = await sign_in_everywhere(app)
    await create_fake_provider(stranger.browser, fake_llm, models=["echo"])
    try:
        for method, client in stranger.clients().items():
            calls = [
                client.get(f"{URL}/{cid}"),
                client.patch(f"{URL}/{cid}", json={"title": "stolen"}),
                client.delete(f"{URL}/{cid}"),
                client.get(f"{URL}/{cid}/messages"),
                client.post(f"{URL}/{cid}/messages", json={"content": "hi"}),
                client.post(
                    f"{URL}/{cid}/messages",
                    json={"content": "hi"},
                    headers={
                        "Accept": "text/event-stream",
                        "Last-Event-ID": f"{before['data'][1]['id']}:1",
                    },
                ),
                client.get(f"{URL}/{cid}/message-parts"),
                client.post(f"{URL}/{cid}/clear"),
                client.get(f"{URL}/{cid}/timeline"),
                client.get(f"{URL}/{cid}/project-info"),
            ]
            for call in calls:
                response = await call
                assert response.status_code == 404, (method, response.request.url, response.text)
                assert response.json()["error"]["code"] == "RESOURCE_NOT_FOUND"
            assert (await client.get(URL)).json()["data"] == []
    finally:
        await stranger.aclose()
    assert (await owner.api.get(f"{URL}/{cid}")).json()["title"] == "Mine"
    assert (await owner.api.get(f"{URL}/{cid}/messages")).json() == before
