"""POST /api/v1/chat: a completion streamed as Server-Sent Events, over both adapters."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import SignedIn, SignedInFactory, assert_error
from tests.sse import parse_sse

KINDS = ["openai", "anthropic"]


def model_for(kind: str, behaviour: str) -> str:
    return f"claude-{behaviour}" if kind == "anthropic" else behaviour


async def chat(client: AsyncClient, **body: Any) -> Any:
    body.setdefault("messages", [{"role": "user", "content": "Hello there"}])
    return await client.post("/api/v1/chat", json=body)


async def user_with_provider(
    signed_in: SignedInFactory, fake: FakeLLM, kind: str = "openai"
) -> SignedIn:
    """A new user whose default provider is the fake of `kind`."""
    user = await signed_in()
    await create_fake_provider(user.browser, fake, kind)
    return user


def sent_turns(fake: FakeLLM) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """The one completion request the fake received, and its turns as (role, content)."""
    [sent] = fake.completions()
    return sent.json, [(m["role"], m["content"]) for m in sent.json["messages"]]


def text_of(events: list[Any]) -> str:
    return "".join(e.data["text"] for e in events if e.event == "delta")


@pytest.mark.parametrize("kind", KINDS)
async def test_streams_deltas_then_done_with_usage(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await signed_in()
    provider = await create_fake_provider(user.browser, fake_llm, kind)
    response = await chat(user.api, messages=[{"role": "user", "content": "Hello there friend"}])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    events = parse_sse(response.text)
    deltas = [e for e in events if e.event == "delta"]
    assert len(deltas) > 1, "the reply arrives in several deltas"
    assert text_of(events) == "Echo: Hello there friend"
    assert [e.id for e in events] == [str(i) for i in range(1, len(events) + 1)]
    done = events[-1]
    assert done.event == "done"
    assert done.data["finish_reason"] == "stop"
    assert done.data["truncated"] is False
    assert done.data["provider_id"] == provider["id"]
    assert done.data["model"] == model_for(kind, "echo")
    usage = done.data["usage"]
    assert usage["prompt_tokens"] == 3 and usage["completion_tokens"] == len(deltas)
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"]


@pytest.mark.parametrize("kind", KINDS)
async def test_sends_the_history_model_and_config(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await user_with_provider(signed_in, fake_llm, kind)
    history = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "First question"},
        {"role": "assistant", "content": "First answer"},
        {
            "role": "user",
            "content": [{"type": "text", "text": "Second "}, {"type": "text", "text": "question"}],
        },
    ]
    config = {"temperature": 0.5, "topP": 0.9, "max_tokens": 50, "stop": ["END"]}
    response = await chat(user.cli, messages=history, model=model_for(kind, "echo"), config=config)
    assert response.status_code == 200, response.text
    assert text_of(parse_sse(response.text)) == "Echo: Second question"
    body, turns = sent_turns(fake_llm)
    assert body["model"] == model_for(kind, "echo")
    assert body["temperature"] == 0.5 and body["top_p"] == 0.9 and body["max_tokens"] == 50
    if kind == "anthropic":
        assert body["system"] == "Be brief."
        assert body["stop_sequences"] == ["END"]
        assert turns == [
            ("user", "First question"),
            ("assistant", "First answer"),
            ("user", "Second question"),
        ]
    else:
        assert body["stop"] == ["END"]
        assert turns == [
            ("system", "Be brief."),
            ("user", "First question"),
            ("assistant", "First answer"),
            ("user", "Second question"),
        ]
    # the key went only to the provider, as its auth header
    assert fake_llm.completions()[0].headers["authorization"] == "Bearer sk-test-key-1234abcd"


@pytest.mark.parametrize("kind", KINDS)
async def test_any_order_of_turns_reaches_the_provider_in_a_shape_it_accepts(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    """A greeting from the assistant first, a blank assistant turn (a reply that was only a
    tool call) and two user turns in a row: OpenAI takes them as they are; Anthropic, which
    needs alternating, non-blank turns from a first user turn, gets them fitted."""
    user = await user_with_provider(signed_in, fake_llm, kind)
    history = [
        {"role": "assistant", "content": "How can I help?"},
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "In Paris"},
    ]
    response = await chat(user.api, messages=history, model=model_for(kind, "echo"))
    assert response.status_code == 200, response.text
    assert parse_sse(response.text)[-1].event == "done"
    _, turns = sent_turns(fake_llm)
    if kind == "anthropic":
        assert turns == [("user", "Weather?\n\nIn Paris")]
    else:
        assert turns == [(m["role"], m["content"]) for m in history]


async def test_uses_the_default_provider_unless_one_is_chosen(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    first = await create_fake_provider(user.browser, fake_llm, "openai", name="one")
    second = await create_fake_provider(user.browser, fake_llm, "anthropic", name="two")
    assert first["is_default"] and not second["is_default"]
    response = await chat(user.browser)
    assert parse_sse(response.text)[-1].data["provider_id"] == first["id"]
    response = await chat(user.browser, provider_id=second["id"])
    assert parse_sse(response.text)[-1].data["provider_id"] == second["id"]
    assert [r.server for r in fake_llm.completions()] == ["openai", "anthropic"]


async def test_ollama_provider_streams_through_its_v1_api(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm, "ollama", api_key=None)
    response = await chat(user.browser)
    assert text_of(parse_sse(response.text)) == "Echo: Hello there"
    [sent] = fake_llm.completions()
    assert sent.path == "/v1/chat/completions"


@pytest.mark.parametrize("kind", KINDS)
async def test_tool_calls_stream_as_tool_call_events(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await user_with_provider(signed_in, fake_llm, kind)
    events = parse_sse((await chat(user.browser, model=model_for(kind, "tool"))).text)
    calls = [e.data for e in events if e.event == "tool_call"]
    assert len(calls) == 1
    assert calls[0]["name"] == "get_weather"
    assert calls[0]["arguments"] == '{"city": "Paris"}'
    assert calls[0]["id"]
    assert events[-1].event == "done" and events[-1].data["finish_reason"] == "tool_calls"


async def test_no_provider_is_503_saying_how_to_add_one(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user = await signed_in()
    for client in user.clients().values():
        error = assert_error(await chat(client), 503, "SERVICE_UNAVAILABLE")
        assert "POST /api/v1/providers" in error["message"]
        assert error["details"]["how_to_fix"]["path"] == "/api/v1/providers"
    assert fake_llm.requests == []


async def test_unknown_or_foreign_provider_is_404(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    owner, other = await signed_in(), await signed_in()
    provider = await create_fake_provider(owner.browser, fake_llm)
    await create_fake_provider(other.browser, fake_llm)
    for client in other.clients().values():
        assert_error(await chat(client, provider_id=provider["id"]), 404, "RESOURCE_NOT_FOUND")
    assert_error(
        await chat(owner.browser, provider_id="00000000-0000-4000-8000-000000000000"),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert fake_llm.completions() == []


@pytest.mark.parametrize(
    "body",
    [
        {"messages": []},
        {"messages": [{"role": "user"}]},
        {"messages": [{"role": "robot", "content": "hi"}]},
        {"messages": [{"role": "system", "content": "no user turn"}]},
        {"messages": [{"role": "user", "content": "hi"}], "config": {"temperature": 9}},
        {"messages": [{"role": "user", "content": "hi"}], "config": {"nonsense": 1}},
        {"messages": [{"role": "user", "content": "hi"}], "provider_id": "not-a-uuid"},
        {"messages": [{"role": "user", "content": "hi"}], "unknown": True},
        {"messages": [{"role": "user", "content": "a\u0000b"}]},
        # No tools are declared, so no tool call awaits a result (the real APIs refuse one).
        {"messages": [{"role": "user", "content": "hi"}, {"role": "tool", "content": "42"}]},
        {"messages": [{"role": "user", "content": " \n "}]},
        {"messages": [{"role": "user", "content": []}]},
    ],
)
async def test_bad_bodies_are_422_before_any_upstream_call(
    signed_in: SignedInFactory, fake_llm: FakeLLM, body: dict[str, Any]
) -> None:
    user = await user_with_provider(signed_in, fake_llm)
    response = await user.browser.post("/api/v1/chat", json=body)
    error = assert_error(response, 422, "VALIDATION_ERROR")
    assert error["details"]["fields"]
    assert fake_llm.completions() == []


@pytest.mark.parametrize("kind", KINDS)
async def test_bad_key_is_a_502_envelope_with_the_providers_message(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    user = await signed_in()
    await create_fake_provider(user.browser, fake_llm, kind, api_key="bad-key-000000000")
    error = assert_error(await chat(user.browser), 502, "UPSTREAM_ERROR")
    assert "401" in error["message"]
    expected = "invalid x-api-key" if kind == "anthropic" else "Incorrect API key provided"
    assert expected in error["message"]
    assert "bad-key-000000000" not in error["message"]


@pytest.mark.parametrize("kind", KINDS)
async def test_server_errors_are_retried_then_502(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    kind: str,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 1)
    user = await user_with_provider(signed_in, fake_llm, kind)
    error = assert_error(
        await chat(user.browser, model=model_for(kind, "error")), 502, "UPSTREAM_ERROR"
    )
    assert "500" in error["message"]
    assert len(fake_llm.completions()) == 2, "one try and one retry"


@pytest.mark.parametrize("kind", KINDS)
async def test_rate_limited_upstream_is_retried_until_it_succeeds(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    fake_llm.set_fail_times(2)
    user = await user_with_provider(signed_in, fake_llm, kind)
    response = await chat(user.browser, model=model_for(kind, "flaky"))
    assert response.status_code == 200, response.text
    assert text_of(parse_sse(response.text)) == "Echo: Hello there"
    assert len(fake_llm.completions()) == 3, "two 429s, then the answer"


async def test_rate_limited_upstream_beyond_the_retries_is_502(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 1)
    fake_llm.set_fail_times(5)
    user = await user_with_provider(signed_in, fake_llm)
    error = assert_error(await chat(user.browser, model="flaky"), 502, "UPSTREAM_ERROR")
    assert "429" in error["message"]


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_provider_times_out_as_502(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    kind: str,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_timeout_seconds", 0.2)
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)
    fake_llm.set_delays(before=1.5)
    user = await user_with_provider(signed_in, fake_llm, kind)
    error = assert_error(
        await chat(user.browser, model=model_for(kind, "slow")), 502, "UPSTREAM_ERROR"
    )
    assert "did not answer in time" in error["message"] or "timed out" in error["message"]


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_but_in_time_provider_streams_normally(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str
) -> None:
    fake_llm.set_delays(before=0.1, between=0.02)
    user = await user_with_provider(signed_in, fake_llm, kind)
    response = await chat(user.browser, model=model_for(kind, "slow"))
    assert text_of(parse_sse(response.text)) == "Echo: Hello there"


@pytest.mark.parametrize("behaviour", ["disconnect", "malformed", "truncated"])
@pytest.mark.parametrize("kind", KINDS)
async def test_a_stream_that_breaks_ends_with_an_error_event(
    signed_in: SignedInFactory, fake_llm: FakeLLM, kind: str, behaviour: str
) -> None:
    user = await user_with_provider(signed_in, fake_llm, kind)
    response = await chat(user.browser, model=model_for(kind, behaviour))
    assert response.status_code == 200, "streaming had begun: the failure is an event"
    events = parse_sse(response.text)
    assert events[0].event == "delta", "the first delta was delivered"
    assert events[-1].event == "error"
    assert events[-1].data["code"] == "UPSTREAM_ERROR"
    assert events[-1].data["message"]
    assert not any(e.event == "done" for e in events)
    assert [e.id for e in events] == [str(i) for i in range(1, len(events) + 1)]


@pytest.mark.parametrize("kind", KINDS)
async def test_replies_longer_than_the_cap_are_cut_and_flagged(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    kind: str,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_response_chars", 10)
    user = await user_with_provider(signed_in, fake_llm, kind)
    fake_llm.queue_reply("0123456789abcdefghijklmnopqrstuvwxyz")
    events = parse_sse((await chat(user.browser)).text)
    assert text_of(events) == "0123456789"
    assert events[-1].event == "done"
    assert events[-1].data["truncated"] is True and events[-1].data["finish_reason"] == "length"


async def test_connection_refused_is_502(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)
    user = await signed_in()
    response = await user.browser.post(
        "/api/v1/providers",
        json={"name": "gone", "type": "openai_compatible", "base_url": "http://127.0.0.1:9/v1"},
    )
    assert response.status_code == 201, response.text
    error = assert_error(await chat(user.browser), 502, "UPSTREAM_ERROR")
    assert "Could not connect" in error["message"]


async def test_llm_rate_limit_applies_per_user_with_headers(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_llm_free", 2)
    user, other = await signed_in(), await signed_in()
    await create_fake_provider(user.browser, fake_llm)
    await create_fake_provider(other.browser, fake_llm)
    first = await chat(user.browser)
    assert first.status_code == 200
    assert first.headers["RateLimit-Limit"] == "2"
    assert first.headers["RateLimit-Remaining"] == "1"
    assert (await chat(user.api)).status_code == 200
    limited = await chat(user.cli)
    assert_error(limited, 429, "RATE_LIMITED")
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["RateLimit-Remaining"] == "0"
    assert len(fake_llm.completions()) == 2, "the refused call never reached the provider"
    assert (await chat(other.browser)).status_code == 200, "another user has their own budget"


async def test_llm_rate_limit_can_be_switched_off(
    signed_in: SignedInFactory,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_llm_free", 1)
    monkeypatch.setattr(resources.limiter, "enabled", False)
    user = await user_with_provider(signed_in, fake_llm)
    for _ in range(3):
        assert (await chat(user.browser)).status_code == 200


async def test_chat_needs_authentication(client: AsyncClient) -> None:
    assert_error(await chat(client), 401, "UNAUTHORIZED")
