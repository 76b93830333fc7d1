"""Posting messages: the reply is generated, stored and streamed; failures keep the user's
turn; a dropped stream resumes with Last-Event-ID; a reply nobody follows is stopped."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient

from orbiter.conversations import replies
from tests.conversations.util import new_conversation, streaming_client, wait_for_status
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import assert_error
from tests.sse import SseEvent, parse_sse, sse_events

URL = "/api/v1/conversations"
SSE = {"Accept": "text/event-stream"}


async def _ready(
    browser: AsyncClient, fake: FakeLLM, model: str = "echo", kind: str = "openai"
) -> str:
    await create_fake_provider(browser, fake, kind, models=[model])
    return str((await new_conversation(browser))["id"])


async def _messages(client: AsyncClient, cid: str) -> list[dict[str, Any]]:
    response = await client.get(f"{URL}/{cid}/messages")
    assert response.status_code == 200, response.text
    return response.json()["data"]  # type: ignore[no-any-return]


@pytest.mark.parametrize("kind", ["openai", "anthropic"])
async def test_json_post_stores_both_turns_titles_and_sends_history(
    browser: AsyncClient, fake_llm: FakeLLM, kind: str
) -> None:
    model = "claude-echo" if kind == "anthropic" else "echo"
    cid = await _ready(browser, fake_llm, model, kind)
    first = await browser.post(f"{URL}/{cid}/messages", json={"content": "Hello there, model"})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["user_message"]["role"] == "user"
    assert body["user_message"]["content"] == "Hello there, model"
    assistant = body["assistant_message"]
    assert assistant["content"] == "Echo: Hello there, model"
    assert assistant["status"] == "complete" and assistant["error"] is None
    assert assistant["model"] == model and assistant["provider_id"]
    assert assistant["prompt_tokens"] > 0 and assistant["completion_tokens"] > 0
    assert assistant["parts"] == [{"type": "text", "text": "Echo: Hello there, model"}]
    assert first.headers["RateLimit-Limit"] == "10"
    conversation = (await browser.get(f"{URL}/{cid}")).json()
    assert conversation["title"] == "Hello there, model"
    assert conversation["model"] == model

    second = await browser.post(f"{URL}/{cid}/messages", json={"prompt": "And again"})
    assert second.status_code == 200, second.text
    sent = fake_llm.completions()[-1]
    if kind == "openai":
        roles = [(m["role"], m["content"]) for m in sent.messages]
        assert roles[0][0] == "system"
        assert roles[1:] == [
            ("user", "Hello there, model"),
            ("assistant", "Echo: Hello there, model"),
            ("user", "And again"),
        ]
    else:
        assert sent.json["system"]
        assert [m["role"] for m in sent.messages] == ["user", "assistant", "user"]
    stored = await _messages(browser, cid)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"),
        ("assistant", "complete"),
        ("user", "complete"),
        ("assistant", "complete"),
    ]
    assert (await browser.get(f"{URL}/{cid}")).json()["title"] == "Hello there, model"


async def test_long_first_message_gives_a_short_title(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm)
    text = "Please refactor the authentication module so that sessions expire " * 3
    assert (await browser.post(f"{URL}/{cid}/messages", json={"content": text})).status_code == 200
    title = (await browser.get(f"{URL}/{cid}")).json()["title"]
    assert title.endswith("…") and len(title) <= 61
    assert text.startswith(title[:-1])


async def test_bad_posts_are_refused_and_store_nothing(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = (await new_conversation(browser))["id"]
    no_provider = await browser.post(f"{URL}/{cid}/messages", json={"content": "hi"})
    assert_error(no_provider, 503, "SERVICE_UNAVAILABLE")
    await create_fake_provider(browser, fake_llm, models=["echo"])
    for body in (
        {},
        {"content": ""},
        {"content": "   "},
        {"content": "a\x00b"},
        {"content": "x" * 100_001},
        {"content": "a", "prompt": "b"},
        {"content": "a", "extra": 1},
        {"content": "a", "provider_id": "nope"},
    ):
        assert_error(
            await browser.post(f"{URL}/{cid}/messages", json=body), 422, "VALIDATION_ERROR"
        )
    assert_error(
        await browser.post(
            f"{URL}/{cid}/messages",
            json={"content": "a", "provider_id": "00000000-0000-0000-0000-000000000000"},
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert await _messages(browser, cid) == []
    assert (await browser.get(f"{URL}/{cid}")).json()["title"] is None
    assert fake_llm.completions() == []


async def test_sse_streams_the_reply_with_ids_while_storing_it(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm)
    response = await browser.post(
        f"{URL}/{cid}/messages", json={"content": "stream me"}, headers=SSE
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["RateLimit-Limit"] == "10"
    events = parse_sse(response.text)
    names = [e.event for e in events]
    assert names[:2] == ["message.created", "message.created"]
    assert names[-1] == "done" and set(names[2:-1]) == {"delta"} and len(names) > 4
    user, assistant = events[0].data["message"], events[1].data["message"]
    assert user["role"] == "user" and assistant["status"] == "streaming"
    assert [e.id for e in events] == [f"{assistant['id']}:{n}" for n in range(1, len(events) + 1)]
    text = "".join(e.data["text"] for e in events if e.event == "delta")
    final = events[-1].data["message"]
    assert text == final["content"] == "Echo: stream me" and final["status"] == "complete"
    stored = await _messages(browser, cid)
    assert stored[-1]["id"] == assistant["id"] and stored[-1]["content"] == text
    assert stored[-1]["completion_tokens"] is not None


@pytest.mark.parametrize("streaming", [False, True])
async def test_upstream_failure_before_output_is_502_and_keeps_the_user_turn(
    browser: AsyncClient, fake_llm: FakeLLM, streaming: bool
) -> None:
    cid = await _ready(browser, fake_llm, "error")
    response = await browser.post(
        f"{URL}/{cid}/messages", json={"content": "will fail"}, headers=SSE if streaming else {}
    )
    error = assert_error(response, 502, "UPSTREAM_ERROR")
    stored = await _messages(browser, cid)
    assert [(m["role"], m["status"]) for m in stored] == [
        ("user", "complete"),
        ("assistant", "error"),
    ]
    assert stored[0]["content"] == "will fail" and stored[1]["error"]
    assert error["details"]["user_message_id"] == stored[0]["id"]
    assert error["details"]["assistant_message_id"] == stored[1]["id"]
    # The failed turn is not sent to the model next time.
    await browser.post(f"{URL}/{cid}/messages", json={"content": "again"})
    sent = [m["role"] for m in fake_llm.completions()[-1].messages]
    assert sent == ["system", "user", "user"]


async def test_upstream_failure_mid_stream_is_an_error_event_and_keeps_the_text(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm, "disconnect")
    fake_llm.set_disconnect_after(2)
    response = await browser.post(
        f"{URL}/{cid}/messages", json={"content": "abcdefghijklmnop"}, headers=SSE
    )
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert events[-1].event == "error"
    assert events[-1].data["error"]["code"] == "UPSTREAM_ERROR"
    received = "".join(e.data["text"] for e in events if e.event == "delta")
    assert received
    stored = (await _messages(browser, cid))[-1]
    assert stored["status"] == "incomplete" and stored["content"] == received
    assert stored["error"]


async def test_tool_calls_are_streamed_and_stored_as_parts(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm, "tool")
    response = await browser.post(
        f"{URL}/{cid}/messages", json={"content": "weather?"}, headers=SSE
    )
    events = parse_sse(response.text)
    calls = [e for e in events if e.event == "tool_call"]
    assert len(calls) == 1 and calls[0].data["name"] == "get_weather"
    parts = (await browser.get(f"{URL}/{cid}/message-parts")).json()["data"]
    assert parts[0]["role"] == "user" and parts[0]["parts"] == [
        {"type": "text", "text": "weather?"}
    ]
    tool_part = parts[1]["parts"][-1]
    assert tool_part["type"] == "tool_call" and tool_part["name"] == "get_weather"
    assert tool_part["arguments"] == '{"city": "Paris"}'
    timeline = (await browser.get(f"{URL}/{cid}/timeline")).json()["data"]
    assert [t["kind"] for t in timeline] == ["message", "message", "tool_call"]
    assert timeline[2]["message_id"] == parts[1]["message_id"]
    assert timeline[2]["name"] == "get_weather"


async def test_messages_page_back_in_time_in_chronological_pages(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm)
    for number in range(3):
        assert (
            await browser.post(f"{URL}/{cid}/messages", json={"content": f"m{number}"})
        ).status_code == 200
    newest = (await browser.get(f"{URL}/{cid}/messages", params={"limit": 4})).json()
    assert [m["content"] for m in newest["data"]] == ["m1", "Echo: m1", "m2", "Echo: m2"]
    assert newest["pagination"] == {
        "next_cursor": newest["pagination"]["next_cursor"],
        "has_more": True,
        "total": 6,
    }
    older = (
        await browser.get(
            f"{URL}/{cid}/messages",
            params={"limit": 4, "cursor": newest["pagination"]["next_cursor"]},
        )
    ).json()
    assert [m["content"] for m in older["data"]] == ["m0", "Echo: m0"]
    before = (
        await browser.get(f"{URL}/{cid}/messages", params={"before": newest["data"][0]["id"]})
    ).json()
    assert [m["content"] for m in before["data"]] == ["m0", "Echo: m0"]
    timeline = (await browser.get(f"{URL}/{cid}/timeline", params={"limit": 2})).json()
    assert [t["content"] for t in timeline["data"]] == ["m0", "Echo: m0"]
    cleared = await browser.post(f"{URL}/{cid}/clear")
    assert cleared.json() == {"cleared": 6}
    assert await _messages(browser, cid) == []
    assert (await browser.get(f"{URL}/{cid}")).json()["title"] == "m0"


async def test_history_keeps_the_newest_turns_within_the_budget(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm)
    fake_llm.queue_reply("ok", "ok", "ok")
    big = "word " * 12_000  # 60,000 characters; the default budget holds ~112,000
    for text in (big + "first", big + "second", "third"):
        assert (
            await browser.post(f"{URL}/{cid}/messages", json={"content": text})
        ).status_code == 200
    sent = fake_llm.completions()[-1].messages
    assert sent[0]["role"] == "system"
    contents = [m["content"] for m in sent[1:]]
    assert contents == [big + "second", "ok", "third"]


async def _read_until(response: Any, count: int) -> list[SseEvent]:
    got: list[SseEvent] = []
    async for event in sse_events(response):
        got.append(event)
        if len(got) == count:
            break
    return got


async def test_dropped_stream_resumes_with_last_event_id_without_duplicates(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    cid = await _ready(browser, fake_llm, "slow")
    fake_llm.set_delays(before=0.1, between=0.4)
    body = {"content": "resume this reply please"}
    async with streaming_client(app, browser) as client:
        async with client.stream("POST", f"{URL}/{cid}/messages", json=body, headers=SSE) as first:
            assert first.status_code == 200
            seen = await _read_until(first, 3)
        assert [e.event for e in seen] == ["message.created", "message.created", "delta"]
        async with client.stream(
            "POST",
            f"{URL}/{cid}/messages",
            json=body,
            headers={**SSE, "Last-Event-ID": seen[-1].id or ""},
        ) as resumed:
            assert resumed.status_code == 200
            rest = [e async for e in sse_events(resumed)]
    assistant_id = seen[1].data["message"]["id"]
    ids = [e.id for e in seen + rest]
    assert ids == [f"{assistant_id}:{n}" for n in range(1, len(ids) + 1)]
    assert rest[-1].event == "done"
    text = "".join(e.data["text"] for e in seen + rest if e.event == "delta")
    assert text == rest[-1].data["message"]["content"] == "Echo: resume this reply please"
    stored = await _messages(browser, cid)
    assert len(stored) == 2 and stored[-1]["status"] == "complete"
    # Resuming a finished reply (its log still kept) just replays the end; no new message.
    again = await browser.post(
        f"{URL}/{cid}/messages", json=body, headers={**SSE, "Last-Event-ID": ids[-2] or ""}
    )
    assert [e.event for e in parse_sse(again.text)] == ["done"]
    assert len(await _messages(browser, cid)) == 2


async def test_resume_refuses_bad_event_ids(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    cid = await _ready(browser, fake_llm)
    body = {"content": "x"}
    for value, status, code in (
        ("garbage", 400, "BAD_REQUEST"),
        ("00000000-0000-0000-0000-000000000000:1", 404, "RESOURCE_NOT_FOUND"),
    ):
        response = await browser.post(
            f"{URL}/{cid}/messages", json=body, headers={**SSE, "Last-Event-ID": value}
        )
        assert_error(response, status, code)
    json_resume = await browser.post(
        f"{URL}/{cid}/messages", json=body, headers={"Last-Event-ID": "x:1"}
    )
    assert_error(json_resume, 400, "BAD_REQUEST")
    assert await _messages(browser, cid) == []


async def test_client_that_leaves_keeps_its_turn_and_the_partial_reply(
    app: FastAPI,
    browser: AsyncClient,
    fake_llm: FakeLLM,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Nobody follows the conversation any more: the reply stops, stored `incomplete`."""
    monkeypatch.setattr(replies, "RESUME_GRACE_SECONDS", 1)
    cid = await _ready(browser, fake_llm, "slow")
    fake_llm.set_delays(before=0.1, between=30)
    async with (
        streaming_client(app, browser) as client,
        client.stream(
            "POST", f"{URL}/{cid}/messages", json={"content": "long story"}, headers=SSE
        ) as response,
    ):
        seen = await _read_until(response, 3)
    assert seen[-1].event == "delta"
    stored = await wait_for_status(browser, cid, "incomplete")
    assert stored[0]["role"] == "user" and stored[0]["content"] == "long story"
    assert stored[1]["content"] == seen[-1].data["text"]
    assert stored[1]["error"]
    await asyncio.sleep(0)
