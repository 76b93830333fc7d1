"""Another user's agents, custom tools and questions: invisible by any credential."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tests.agents.util import make_agent, priced_provider, start_run, wait_for_run
from tests.fakes.llm_servers import FakeLLM, turn
from tests.helpers import API, SignedIn, assert_error, assert_missing_reference, new_project
from tests.tools.util import create_tool, http_tool


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_agent_tool_and_question_route(
    signed_in: Callable[[], Awaitable[SignedIn]], fake_llm: FakeLLM, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser, "Alice's")
    await priced_provider(alice.browser, fake_llm)
    tool = await create_tool(alice.browser, http_tool(fake_llm, project_id=project))
    agent = await make_agent(alice.browser, project_id=project, tool_ids=["ask_user", tool["id"]])
    conversation = (
        await alice.browser.post(
            f"{API}/conversations", json={"project_id": project, "agent_id": agent["id"]}
        )
    ).json()
    fake_llm.queue_turns(turn("", ("ask_user", {"questions": [{"question": "Sure?"}]})))
    run = await start_run(alice.browser, agent["id"], "Go", conversation_id=conversation["id"])
    waiting = await wait_for_run(alice.browser, run["id"])
    assert waiting["status"] == "awaiting_input", waiting
    request_id = waiting["state"]["awaiting"]["data"]["request_id"] if "state" in waiting else None
    parts = await alice.browser.get(f"{API}/conversations/{conversation['id']}/message-parts")
    question = next(p for p in parts.json()["data"][-1]["parts"] if p["type"] == "question")
    request_id = question["request_id"]
    before = {
        "agent": (await alice.browser.get(f"{API}/agents/{agent['id']}")).json(),
        "tool": (await alice.browser.get(f"{API}/tools/{tool['id']}")).json(),
    }

    intruder = bob.clients()[method]
    questions = f"{API}/conversations/{conversation['id']}/questions/{request_id}"
    attempts: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"{API}/agents/{agent['id']}", None),
        ("PUT", f"{API}/agents/{agent['id']}", {"name": "Bob's"}),
        ("DELETE", f"{API}/agents/{agent['id']}", None),
        ("POST", f"{API}/agents/{agent['id']}/duplicate", None),
        ("POST", f"{API}/agents/{agent['id']}/run", {"input": "Hi"}),
        ("GET", f"{API}/agents?project_id={project}", None),
        ("GET", f"{API}/tools/{tool['id']}", None),
        ("PUT", f"{API}/tools/{tool['id']}", {"description": "Bob's"}),
        ("DELETE", f"{API}/tools/{tool['id']}", None),
        ("POST", f"{API}/tools/{tool['id']}/invoke", {"input": {"limit": 1}}),
        ("GET", f"{API}/tools?project_id={project}", None),
        ("POST", f"{questions}/reply", {"answers": [["yes"]]}),
        ("POST", f"{questions}/reject", None),
    ]
    for verb, url, body in attempts:
        response = await intruder.request(verb, url, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")

    assert (await intruder.get(f"{API}/agents")).json()["data"] == []
    listed = [t["id"] for t in (await intruder.get(f"{API}/tools")).json()["data"]]
    assert tool["id"] not in listed
    own = await intruder.post(
        f"{API}/agents", json={"name": "B", "instructions": "x", "tool_ids": [tool["id"]]}
    )
    assert_missing_reference(own, "tool_ids", tool["id"])
    joined = await intruder.post(f"{API}/conversations", json={"agent_id": agent["id"]})
    assert_missing_reference(joined, "agent_id", agent["id"])

    assert (await alice.browser.get(f"{API}/agents/{agent['id']}")).json() == before["agent"]
    assert (await alice.browser.get(f"{API}/tools/{tool['id']}")).json() == before["tool"]
    still = await wait_for_run(alice.browser, run["id"])
    assert still["status"] == "awaiting_input"
