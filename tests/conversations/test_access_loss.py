"""A stream stops within a few seconds when its caller loses access while it is open: removed
from the project, project or conversation deleted, API key or bearer token revoked, browser
session signed out. The WebSocket closes with 1008 (1000 after `conversation.deleted`); the
SSE reply stream (posted or resumed) ends with an `error` event saying access was lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws

from orbiter.conversations import replies
from tests.conversations.util import streaming_client, ws_client
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedIn, add_member, new_project
from tests.sse import SseEvent, sse_events

SSE = {"Accept": "text/event-stream"}
WITHIN_SECONDS = 6.0  # access is checked every 2 s


@dataclass
class Scene:
    """An owner's project with a conversation; the member (an editor) follows it."""

    owner: SignedIn
    member: SignedIn
    project_id: str
    conversation_id: str


@pytest.fixture
async def scene(
    signed_in: Any, fake_llm: FakeLLM, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Scene]:
    monkeypatch.setattr(replies, "RESUME_GRACE_SECONDS", 1)  # replies left behind stop soon
    owner: SignedIn = await signed_in()
    member: SignedIn = await signed_in()
    project_id = await new_project(owner.browser, "Shared")
    await add_member(owner.browser, project_id, member.browser, member.email, "editor")
    conversation = await owner.browser.post(
        f"{API}/conversations", json={"project_id": project_id, "title": "shared"}
    )
    assert conversation.status_code == 201, conversation.text
    await create_fake_provider(member.browser, fake_llm, models=["slow"])
    fake_llm.set_delays(before=0.1, between=30)  # one delta, then a long silence
    yield Scene(owner, member, project_id, conversation.json()["id"])


async def _only(client: AsyncClient, path: str, kind: str | None = None) -> str:
    listed = (await client.get(path)).json()["data"]
    [row] = [r for r in listed if kind is None or r["kind"] == kind]
    return str(row["id"])


async def _remove_member(s: Scene) -> None:
    member_id = s.member.user["id"]
    removed = await s.owner.browser.delete(f"{API}/projects/{s.project_id}/members/{member_id}")
    assert removed.status_code == 204, removed.text


async def _delete_project(s: Scene) -> None:
    deleted = await s.owner.browser.delete(f"{API}/projects/{s.project_id}")
    assert deleted.status_code == 204, deleted.text


async def _delete_conversation(s: Scene) -> None:
    deleted = await s.owner.browser.delete(f"{API}/conversations/{s.conversation_id}")
    assert deleted.status_code == 204, deleted.text


async def _revoke_api_key(s: Scene) -> None:
    key_id = await _only(s.member.browser, f"{API}/api-keys")
    assert (await s.member.browser.delete(f"{API}/api-keys/{key_id}")).status_code == 204


async def _revoke_token(s: Scene) -> None:
    token_id = await _only(s.member.browser, f"{API}/auth/sessions", kind="token")
    assert (await s.member.browser.delete(f"{API}/auth/sessions/{token_id}")).status_code == 204


async def _sign_out(s: Scene) -> None:
    assert (await s.member.browser.post(f"{API}/auth/logout")).status_code == 204


Cause = Callable[[Scene], Awaitable[None]]
GONE, SIGNED_OUT = "RESOURCE_NOT_FOUND", "UNAUTHORIZED"
# cause -> (the member's credential that streams, what ends access, the SSE error code)
CAUSES: dict[str, tuple[str, Cause, str]] = {
    "removed_from_project": ("bearer", _remove_member, GONE),
    "project_deleted": ("bearer", _delete_project, GONE),
    "conversation_deleted": ("bearer", _delete_conversation, GONE),
    "api_key_revoked": ("api_key", _revoke_api_key, SIGNED_OUT),
    "bearer_token_revoked": ("bearer", _revoke_token, SIGNED_OUT),
    "browser_signed_out": ("cookie", _sign_out, SIGNED_OUT),
}


def _ws(app: FastAPI, s: Scene, credential: str) -> Any:
    path = f"{API}/conversations/{s.conversation_id}/stream"
    if credential == "bearer":
        return ws_client(app), f"{path}?token={s.member.token}"
    if credential == "api_key":
        return ws_client(app, **{"X-API-Key": s.member.api_key}), path
    client = ws_client(app)
    client.cookies = s.member.browser.cookies
    return client, path


@pytest.mark.parametrize("cause", sorted(CAUSES))
async def test_websocket_closes_when_access_is_lost(app: FastAPI, scene: Scene, cause: str) -> None:
    credential, end_access, _ = CAUSES[cause]
    client, path = _ws(app, scene, credential)
    async with client, aconnect_ws(path, client, session_class=AsyncWebSocketSession) as ws:
        renamed = await scene.owner.browser.patch(
            f"{API}/conversations/{scene.conversation_id}", json={"title": "still here"}
        )
        assert renamed.status_code == 200
        assert '"conversation.updated"' in await ws.receive_text(timeout=5)  # live, allowed
        await end_access(scene)
        started = time.monotonic()
        frames = []
        with pytest.raises(WebSocketDisconnect) as closed:
            while True:
                frames.append(await ws.receive_text(timeout=WITHIN_SECONDS))
    assert time.monotonic() - started < WITHIN_SECONDS
    if cause == "conversation_deleted":  # told why first, then a normal close
        assert len(frames) == 1 and '"conversation.deleted"' in frames[0]
        assert closed.value.code == 1000
    else:
        assert frames == []
        assert closed.value.code == 1008
        assert closed.value.reason.startswith("Access lost")


def _member_client(s: Scene, credential: str) -> AsyncClient:
    return {"bearer": s.member.cli, "api_key": s.member.api, "cookie": s.member.browser}[credential]


async def _until_lost(events: AsyncIterator[SseEvent]) -> tuple[list[SseEvent], float]:
    """Every event until the stream ends, and how long that took."""
    started, rest = time.monotonic(), []
    async with asyncio.timeout(WITHIN_SECONDS + 4):
        async for event in events:
            rest.append(event)
    return rest, time.monotonic() - started


def _assert_access_lost(rest: list[SseEvent], elapsed: float, cause: str, message_id: str) -> None:
    assert rest, "the stream ended without an event"
    last = rest[-1]
    assert last.event == "error", rest
    assert last.data["message_id"] == message_id
    assert last.data["error"]["code"] == CAUSES[cause][2], last.data
    assert last.data["error"]["message"].startswith("Access lost")
    assert [e.event for e in rest[:-1]] == []  # nothing else arrived after access ended
    assert elapsed < WITHIN_SECONDS


@pytest.mark.parametrize("cause", sorted(CAUSES))
async def test_sse_reply_stream_ends_when_access_is_lost(
    app: FastAPI, scene: Scene, cause: str
) -> None:
    credential, end_access, _ = CAUSES[cause]
    url = f"{API}/conversations/{scene.conversation_id}/messages"
    async with (
        streaming_client(app, _member_client(scene, credential)) as client,
        client.stream("POST", url, json={"content": "a long story"}, headers=SSE) as response,
    ):
        assert response.status_code == 200
        events = sse_events(response)
        seen = [await anext(events) for _ in range(3)]
        assert [e.event for e in seen] == ["message.created", "message.created", "delta"]
        await end_access(scene)
        rest, elapsed = await _until_lost(events)
    _assert_access_lost(rest, elapsed, cause, seen[1].data["message"]["id"])


async def test_resumed_sse_stream_ends_when_the_member_is_removed(
    app: FastAPI, scene: Scene
) -> None:
    url = f"{API}/conversations/{scene.conversation_id}/messages"
    body = {"content": "a long story"}
    async with streaming_client(app, scene.member.cli) as client:
        async with client.stream("POST", url, json=body, headers=SSE) as first:
            events = sse_events(first)
            seen = [await anext(events) for _ in range(3)]
        resume = {**SSE, "Last-Event-ID": seen[-1].id or ""}
        async with client.stream("POST", url, json=body, headers=resume) as resumed:
            assert resumed.status_code == 200
            await _remove_member(scene)
            rest, elapsed = await _until_lost(sse_events(resumed))
    _assert_access_lost(rest, elapsed, "removed_from_project", seen[1].data["message"]["id"])
