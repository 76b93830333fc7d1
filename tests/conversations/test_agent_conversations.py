"""Conversations with an agent: each message runs the agent, whose run writes the reply; the
agent can ask the user questions, answered (or declined) in the conversation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import FastAPI
from httpx import AsyncClient
from httpx_ws import AsyncWebSocketSession, aconnect_ws

from tests.agents.util import make_agent, priced_provider, wait_for_run
from tests.conversations.util import new_conversation, wait_for_status, ws_client
from tests.fakes.llm_servers import FakeLLM, turn
from tests.helpers import (
    API,
    SignedIn,
    SignedInFactory,
    add_member,
    assert_error,
    assert_missing_reference,
    browser_for,
    new_project,
    unique_email,
)
from tests.sse import SseEvent, parse_sse

SSE = "text/event-stream"
QUESTION = {"question": "Which city?", "options": ["Paris", "Rome"]}


@pytest.fixture(autouse=True)
def _worker(run_worker: None) -> None:
    """Agent runs are executed (a worker on the services backend)."""


async def agent_conversation(client: AsyncClient, fake: FakeLLM, **agent: Any) -> dict[str, Any]:
    await priced_provider(client, fake)
    made = await make_agent(client, **agent)
    where = {"project_id": agent["project_id"]} if "project_id" in agent else {}
    return await new_conversation(client, agent_id=made["id"], **where)


async def post(client: AsyncClient, conversation_id: str, content: str, **headers: str) -> Any:
    return await client.post(
        f"{API}/conversations/{conversation_id}/messages",
        json={"content": content},
        headers=headers,
    )


async def streamed_sum(
    client: AsyncClient, fake: FakeLLM, expression: str, answer: str
) -> tuple[dict[str, Any], list[SseEvent]]:
    """A conversation with a calculator agent, and the SSE events of asking it `expression`
    (the model calls the calculator once, then answers `answer`)."""
    conversation = await agent_conversation(client, fake, tool_ids=["calculator"])
    fake.queue_turns(turn("", ("calculator", {"expression": expression})), turn(answer))
    response = await post(client, conversation["id"], f"{expression}?", Accept=SSE)
    assert response.status_code == 200, response.text
    return conversation, parse_sse(response.text)


async def parts(client: AsyncClient, conversation_id: str) -> list[dict[str, Any]]:
    page = (await client.get(f"{API}/conversations/{conversation_id}/message-parts")).json()
    return page["data"]  # type: ignore[no-any-return]


async def test_a_message_runs_the_agent_and_the_reply_holds_its_answer_and_tool_calls(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    conversation = await agent_conversation(browser, fake_llm, tool_ids=["calculator"])
    fake_llm.queue_turns(
        turn("Computing.", ("calculator", {"expression": "12 * 12"})), turn("It is 144.")
    )
    response = await post(browser, conversation["id"], "What is 12 squared?")
    assert response.status_code == 200, response.text
    exchange = response.json()
    assistant = exchange["assistant_message"]
    assert assistant["status"] == "complete" and assistant["content"] == "It is 144."
    assert assistant["run_id"] is not None and exchange["user_message"]["run_id"] is None
    assert assistant["prompt_tokens"] > 0 and assistant["model"] == "echo"
    run = await wait_for_run(browser, assistant["run_id"])
    assert run["conversation_id"] == conversation["id"] and run["status"] == "succeeded"

    [user_parts, reply_parts] = await parts(browser, conversation["id"])
    assert user_parts["parts"] == [{"type": "text", "text": "What is 12 squared?"}]
    assert [p["type"] for p in reply_parts["parts"]] == ["text", "tool_call", "tool_result", "text"]
    call, result = reply_parts["parts"][1], reply_parts["parts"][2]
    assert call["name"] == "calculator" and result["tool_call_id"] == call["id"]
    assert result["output"] == {"expression": "12 * 12", "result": 144} and result["error"] is None
    titled = (await browser.get(f"{API}/conversations/{conversation['id']}")).json()
    assert titled["title"] == "What is 12 squared?"

    fake_llm.queue_turns(turn("Still 144."))
    second = (await post(browser, conversation["id"], "Sure?")).json()
    assert second["assistant_message"]["content"] == "Still 144."
    history = fake_llm.completions()[-1].messages
    assert history[0] == {"role": "system", "content": "You help. Use tools."}
    assert [m["content"] for m in history[1:]] == ["What is 12 squared?", "It is 144.", "Sure?"]


async def test_the_reply_streams_as_sse_with_the_runs_events(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    conversation, events = await streamed_sum(browser, fake_llm, "3 + 4", "Seven.")
    kinds = [e.event for e in events]
    assert kinds[:2] == ["message.created", "message.created"]
    assert {"tool_call", "tool_result", "delta", "step_started"} <= set(kinds)
    assert kinds[-1] == "done" and events[-1].data["output"]["text"] == "Seven."
    reply = events[1].data["message"]
    assert reply["role"] == "assistant" and reply["status"] == "streaming"
    run_id = reply["run_id"]
    assert all(str(e.id).startswith(f"{run_id}:") for e in events[2:])
    assert all(e.data.get("message_id") == reply["id"] for e in events[2:-1])
    messages = await wait_for_status(browser, conversation["id"], "complete")
    assert messages[-1]["content"] == "Seven."


async def ask(
    client: AsyncClient, fake: FakeLLM, **agent: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """A conversation whose agent is waiting for the answer to QUESTION; its question event."""
    conversation = await agent_conversation(
        client, fake, tool_ids=["ask_user", "calculator"], **agent
    )
    fake.queue_turns(
        turn(
            "",
            ("calculator", {"expression": "1 + 1"}),
            ("ask_user", {"questions": [QUESTION]}),
            usage=(10, 5),
        )
    )
    response = await post(client, conversation["id"], "Plan my trip", Accept=SSE)
    events = parse_sse(response.text)
    assert events[-1].event == "question", [e.event for e in events]
    return conversation, events[-1].data


async def test_a_question_waits_for_the_reply_then_the_run_goes_on(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    conversation, question = await ask(browser, fake_llm)
    assert question["questions"] == [{**QUESTION, "multiple": False}]
    request_id = question["request_id"]
    assert question["conversation_id"] == conversation["id"]
    messages = (await browser.get(f"{API}/conversations/{conversation['id']}/messages")).json()
    reply = messages["data"][-1]
    assert reply["status"] == "streaming"
    run = await wait_for_run(browser, reply["run_id"])
    assert run["status"] == "awaiting_input"
    pending = (await parts(browser, conversation["id"]))[-1]["parts"]
    assert pending[-1] == {
        "type": "question",
        "request_id": request_id,
        "questions": question["questions"],
        "status": "pending",
    }
    assert [p["type"] for p in pending].count("tool_result") == 1  # the calculator's

    url = f"{API}/conversations/{conversation['id']}/questions/{request_id}"
    wrong = await browser.post(f"{url}/reply", json={"answers": [["Paris"], ["x"]]})
    assert_error(wrong, 422, "VALIDATION_ERROR")
    fake_llm.queue_turns(turn("Paris it is.", usage=(20, 4)))
    answered = await browser.post(f"{url}/reply", json={"answers": [["Paris"]]})
    assert answered.status_code == 200, answered.text
    assert answered.json()["id"] == run["id"] and answered.json()["status"] == "queued"
    again = await browser.post(f"{url}/reply", json={"answers": [["Rome"]]})
    assert_error(again, 404, "RESOURCE_NOT_FOUND")

    done = await wait_for_run(browser, run["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    assert (done["tokens_in"], done["tokens_out"]) == (30, 9)
    final = await wait_for_status(browser, conversation["id"], "complete")
    assert final[-1]["content"] == "Paris it is."
    results = [m for m in fake_llm.completions()[-1].messages if m["role"] == "tool"]
    assert json.loads(results[-1]["content"]) == {
        "answers": [{"question": "Which city?", "answer": ["Paris"]}]
    }
    question_part = next(
        p
        for p in (await parts(browser, conversation["id"]))[-1]["parts"]
        if p["type"] == "question"
    )
    assert question_part["status"] == "answered" and question_part["answers"] == [["Paris"]]


async def test_a_declined_question_tells_the_agent(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    conversation, question = await ask(browser, fake_llm)
    fake_llm.queue_turns(turn("Fine, I will pick for you."))
    url = f"{API}/conversations/{conversation['id']}/questions/{question['request_id']}/reject"
    response = await browser.post(url)
    assert response.status_code == 200, response.text
    done = await wait_for_run(browser, response.json()["id"], {"succeeded", "failed"})
    assert done["status"] == "succeeded", done
    results = [m for m in fake_llm.completions()[-1].messages if m["role"] == "tool"]
    assert results[-1]["content"] == "The user declined to answer."
    final = await wait_for_status(browser, conversation["id"], "complete")
    assert final[-1]["content"] == "Fine, I will pick for you."


async def test_only_editors_answer_and_only_agents_of_the_project_join(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    team = await new_project(browser, "Team")
    conversation, question = await ask(browser, fake_llm, project_id=team)
    email = unique_email("viewer")
    viewer, _ = await browser_for(app, email)
    await add_member(browser, conversation["project_id"], viewer, email, "viewer")
    url = f"{API}/conversations/{conversation['id']}/questions/{question['request_id']}"
    assert_error(await viewer.post(f"{url}/reply", json={"answers": [["Rome"]]}), 403, "FORBIDDEN")
    assert_error(await viewer.post(f"{url}/reject"), 403, "FORBIDDEN")
    unknown = f"{API}/conversations/{conversation['id']}/questions/nope/reject"
    assert_error(await browser.post(unknown), 404, "RESOURCE_NOT_FOUND")
    await viewer.aclose()

    other = await new_project(browser, "Other")
    foreign = await make_agent(browser, project_id=other)
    refused = await browser.post(f"{API}/conversations", json={"agent_id": foreign["id"]})
    assert_missing_reference(refused, "agent_id", foreign["id"])
    elsewhere = await browser.post(
        f"{API}/agents/{foreign['id']}/run",
        json={"input": "Hi", "conversation_id": conversation["id"]},
    )
    assert_missing_reference(elsewhere, "conversation_id", conversation["id"])


async def test_the_conversation_stream_shows_the_runs_tool_calls_and_results(
    app: FastAPI, signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    user: SignedIn = await signed_in()
    conversation = await agent_conversation(user.browser, fake_llm, tool_ids=["calculator"])
    fake_llm.queue_turns(turn("", ("calculator", {"expression": "5 * 5"})), turn("25."))
    path = f"{API}/conversations/{conversation['id']}/stream?token={user.token}"
    async with (
        ws_client(app) as client,
        aconnect_ws(path, client, session_class=AsyncWebSocketSession) as ws,
    ):
        posted = await post(user.api, conversation["id"], "5 * 5?")
        assert posted.status_code == 200, posted.text
        seen: list[dict[str, Any]] = []
        while not seen or seen[-1]["event"] != "done":
            seen.append(json.loads(await ws.receive_text(timeout=10)))
    names = [e["event"] for e in seen]
    assert names[:2] == ["message.created", "message.created"]
    run_id = posted.json()["assistant_message"]["run_id"]
    call = next(e for e in seen if e["event"] == "tool_call")
    result = next(e for e in seen if e["event"] == "tool_result")
    assert call["id"].startswith(f"{run_id}:") and call["data"]["name"] == "calculator"
    assert result["data"]["output"] == {"expression": "5 * 5", "result": 25}
    assert seen[-1]["data"]["output"]["text"] == "25."


async def test_a_dropped_reply_stream_resumes_after_the_last_event_id(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    conversation, events = await streamed_sum(browser, fake_llm, "2 + 2", "Four.")
    cut = next(i for i, e in enumerate(events) if e.event == "tool_call")
    resumed = await browser.post(
        f"{API}/conversations/{conversation['id']}/messages",
        json={"content": "2 + 2?"},
        headers={"Accept": SSE, "Last-Event-ID": str(events[cut].id)},
    )
    assert resumed.status_code == 200, resumed.text
    again = parse_sse(resumed.text)
    assert [e.id for e in again] == [e.id for e in events[cut + 1 :]]
    messages = (await browser.get(f"{API}/conversations/{conversation['id']}/messages")).json()
    assert messages["pagination"]["total"] == 2  # resuming posted nothing
