"""Agent runs: the tool loop in the worker, its trace, tokens and cost, and its failures."""

from __future__ import annotations

import socket

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.agents.util import (
    cost,
    looping_agent,
    make_agent,
    model_for,
    priced_provider,
    spans,
    start_run,
    wait_for_run,
)
from tests.fakes.llm_servers import FakeLLM, outage, turn
from tests.helpers import API, assert_error
from tests.sse import parse_sse

KINDS = ["openai", "anthropic"]


@pytest.mark.parametrize("kind", KINDS)
async def test_parallel_tool_calls_then_an_answer_with_trace_tokens_and_cost(
    browser: AsyncClient, fake_llm: FakeLLM, kind: str
) -> None:
    provider = await priced_provider(browser, fake_llm, kind)
    agent = await make_agent(browser, tool_ids=["calculator", "current_time"])
    fake_llm.queue_turns(
        turn(
            "",
            ("calculator", {"expression": "6 * 7"}),
            ("current_time", {"timezone": "Europe/Paris"}),
            usage=(100, 20),
        ),
        turn("6 * 7 is 42.", usage=(150, 10)),
    )
    run = await start_run(browser, agent["id"], "What is 6 * 7, and the time in Paris?")
    done = await wait_for_run(browser, run["id"])
    assert done["status"] == "succeeded", done
    assert done["output"]["text"] == "6 * 7 is 42."
    assert done["output"]["steps"] == 2
    assert done["target_id"] == agent["id"] and done["target_version"] == "1"
    assert (done["tokens_in"], done["tokens_out"]) == (250, 30)
    assert done["cost"] == pytest.approx(cost(250, 30))

    steps = [s for s in done["trace"] if s["type"] == "step"]
    assert [s["name"] for s in steps] == ["step 1", "step 2"]
    first = {s["type"]: s for s in steps[0]["children"]}
    llm = spans(done["trace"], "llm")
    assert [(s["tokens_in"], s["tokens_out"]) for s in llm] == [(100, 20), (150, 10)]
    assert llm[0]["model"] == model_for(kind) and llm[0]["provider"] == provider["type"]
    assert llm[0]["cost"] == pytest.approx(cost(100, 20))
    tools = spans(done["trace"], "tool")
    assert {s["name"] for s in tools} == {"calculator", "current_time"}
    assert all(s["status"] == "ok" for s in tools)
    calculator = next(s for s in tools if s["name"] == "calculator")
    assert calculator["input"] == {"expression": "6 * 7"}
    assert calculator["output"] == {"expression": "6 * 7", "result": 42}
    assert first["llm"]["status"] == "ok"

    offered, answered = (r.json for r in fake_llm.completions())
    names = [t.get("name") or t["function"]["name"] for t in offered["tools"]]
    assert sorted(names) == ["calculator", "current_time"]
    assert "42" in str(answered["messages"][-1]) or "42" in str(answered["messages"])


async def test_a_failing_tool_is_an_error_span_the_model_reads_and_the_run_goes_on(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    agent = await make_agent(browser, tool_ids=["calculator"])
    fake_llm.queue_turns(
        turn(
            "",
            ("calculator", {"expression": "1 / 0"}),
            ("calculator", {"expr": "1 + 1"}),
            ("no_such_tool", {}),
            ("calculator", "{not json"),
        ),
        turn("I could not compute that."),
    )
    run = await start_run(browser, agent["id"], "Divide one by zero")
    done = await wait_for_run(browser, run["id"])
    assert done["status"] == "succeeded", done
    assert done["output"]["text"] == "I could not compute that."
    tools = spans(done["trace"], "tool")
    assert [s["status"] for s in tools] == ["error"] * 4
    errors = sorted(s["error"] for s in tools)
    assert any("division by zero" in e for e in errors), errors
    assert any("input_schema" in e and "expression" in e for e in errors), errors
    assert any("no tool named 'no_such_tool'" in e for e in errors), errors
    assert any("not valid JSON" in e for e in errors), errors
    results = [m for m in fake_llm.completions()[1].messages if m["role"] == "tool"]
    assert len(results) == 4
    assert all(m["content"].startswith("Error: ") for m in results), results


async def test_a_tool_that_hangs_times_out_and_the_model_hears_it(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    """http_request to a server that accepts the connection and never answers."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    url = f"http://127.0.0.1:{silent.getsockname()[1]}/"
    try:
        await priced_provider(browser, fake_llm)
        agent = await make_agent(browser, tool_ids=["http_request"])
        fake_llm.queue_turns(
            turn("", ("http_request", {"url": url, "timeout_seconds": 1})), turn("It timed out.")
        )
        done = await wait_for_run(browser, (await start_run(browser, agent["id"], "Go"))["id"])
    finally:
        silent.close()
    assert done["status"] == "succeeded", done
    [tool] = spans(done["trace"], "tool")
    assert tool["status"] == "error" and "did not finish within 1 s" in tool["error"]


async def test_max_steps_fails_the_run_with_a_clear_error(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    agent = await looping_agent(browser, fake_llm, max_steps=2)
    done = await wait_for_run(browser, (await start_run(browser, agent["id"], "Loop"))["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "RUN_LIMIT_EXCEEDED"
    assert "limit of 2 steps" in done["error"]["message"]
    assert len(fake_llm.completions()) == 2
    assert len(spans(done["trace"], "tool")) == 2


@pytest.mark.parametrize("kind", KINDS)
async def test_a_provider_outage_fails_the_run_with_upstream_error(
    browser: AsyncClient, fake_llm: FakeLLM, kind: str
) -> None:
    await priced_provider(browser, fake_llm, kind)
    agent = await make_agent(browser, tool_ids=["calculator"])
    fake_llm.queue_turns(turn("", ("calculator", {"expression": "2 + 2"})), outage())
    done = await wait_for_run(browser, (await start_run(browser, agent["id"], "Add"))["id"])
    assert done["status"] == "failed", done
    assert done["error"]["code"] == "UPSTREAM_ERROR"
    assert "answered 500" in done["error"]["message"]
    llm = spans(done["trace"], "llm")
    assert [s["status"] for s in llm] == ["ok", "error"]
    assert all(s["status"] != "open" for s in spans(done["trace"]))


async def test_without_a_provider_the_run_fails_saying_how_to_add_one(browser: AsyncClient) -> None:
    agent = await make_agent(browser)
    done = await wait_for_run(browser, (await start_run(browser, agent["id"], "Hi"))["id"])
    assert done["status"] == "failed"
    assert done["error"]["code"] == "SERVICE_UNAVAILABLE"
    assert "POST /api/v1/providers" in done["error"]["message"]


async def test_the_same_idempotency_key_returns_the_first_run(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    await priced_provider(browser, fake_llm)
    agent = await make_agent(browser)
    url = f"{API}/agents/{agent['id']}/run"
    keyed = {"Idempotency-Key": "run-once-1"}
    first = await browser.post(url, json={"input": "Hello"}, headers=keyed)
    second = await browser.post(url, json={"input": "Hello again"}, headers=keyed)
    other = await browser.post(url, json={"input": "Hello"}, headers={"Idempotency-Key": "two"})
    assert first.status_code == second.status_code == other.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert second.json()["input"] == {"input": "Hello"}
    assert other.json()["id"] != first.json()["id"]
    await wait_for_run(browser, first.json()["id"])
    await wait_for_run(browser, other.json()["id"])
    assert len(fake_llm.completions()) == 2
    listed = (await browser.get(f"{API}/runs?agent_id={agent['id']}")).json()
    assert listed["pagination"]["total"] == 2


async def test_the_run_streams_its_events_as_sse(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    await priced_provider(browser, fake_llm)
    agent = await make_agent(browser, tool_ids=["calculator"])
    fake_llm.queue_turns(turn("", ("calculator", {"expression": "2 ** 10"})), turn("1024."))
    response = await browser.post(
        f"{API}/agents/{agent['id']}/run",
        json={"input": "Two to the tenth?"},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(response.text)
    kinds = [e.event for e in events]
    assert kinds == [
        "step_started",
        "tool_call",
        "tool_result",
        "step_finished",
        "step_started",
        *["delta"] * kinds.count("delta"),
        "step_finished",
        "done",
    ], kinds
    run_id = str(events[0].id).split(":")[0]
    assert all(str(e.id).startswith(f"{run_id}:") for e in events)
    call = events[1].data
    assert call["name"] == "calculator" and call["arguments"] == '{"expression": "2 ** 10"}'
    assert events[2].data["output"] == {"expression": "2 ** 10", "result": 1024}
    assert "".join(e.data["text"] for e in events if e.event == "delta") == "1024."
    assert events[-1].data["output"]["text"] == "1024."


async def test_each_llm_call_of_a_run_counts_in_the_llm_rate_limit(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_llm_free", 3)
    await priced_provider(browser, fake_llm)
    agent = await make_agent(browser, tool_ids=["calculator"])
    fake_llm.queue_turns(turn("", ("calculator", {"expression": "1"})), turn("One."))
    done = await wait_for_run(browser, (await start_run(browser, agent["id"], "One?"))["id"])
    assert done["status"] == "succeeded"
    chat = {"messages": [{"role": "user", "content": "Hi"}]}
    assert (await browser.post(f"{API}/chat", json=chat)).status_code == 200
    assert_error(await browser.post(f"{API}/chat", json=chat), 429, "RATE_LIMITED")
