"""/api/v1/agents: agents of a project, their references, copies and versions."""

from __future__ import annotations

import uuid

from fastapi import FastAPI
from httpx import AsyncClient

from tests.agents.util import make_agent
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import (
    API,
    add_member,
    assert_error,
    assert_missing_reference,
    browser_for,
    new_project,
    unique_email,
)
from tests.tools.util import create_tool, http_tool


async def test_create_read_update_list_and_delete(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    provider = await create_fake_provider(browser, fake_llm)
    tool = await create_tool(browser, http_tool(fake_llm))
    agent = await make_agent(
        browser,
        description="Answers questions",
        provider_id=provider["id"],
        model="echo",
        tool_ids=["calculator", tool["id"], "calculator", "ask_user"],
        temperature=0.2,
        max_steps=5,
    )
    personal = (await browser.get(f"{API}/projects")).json()["data"][0]
    assert agent["project_id"] == personal["id"]
    assert agent["tool_ids"] == ["calculator", tool["id"], "ask_user"]
    assert agent["version"] == 1 and agent["knowledge_base_ids"] == []
    assert (await browser.get(f"{API}/agents/{agent['id']}")).json() == agent

    changed = await browser.put(
        f"{API}/agents/{agent['id']}", json={"instructions": "Be brief.", "model": None}
    )
    assert changed.status_code == 200, changed.text
    body = changed.json()
    assert body["instructions"] == "Be brief." and body["model"] is None
    assert body["version"] == 2 and body["name"] == agent["name"]
    assert_error(
        await browser.put(f"{API}/agents/{agent['id']}", json={"name": None}),
        422,
        "VALIDATION_ERROR",
    )

    other = await new_project(browser, "Other")
    elsewhere = await make_agent(browser, name="Elsewhere", project_id=other)
    everything = (await browser.get(f"{API}/agents")).json()
    assert [a["id"] for a in everything["data"]] == [elsewhere["id"], agent["id"]]
    only = (await browser.get(f"{API}/agents?project_id={other}")).json()
    assert [a["id"] for a in only["data"]] == [elsewhere["id"]]

    assert (await browser.delete(f"{API}/agents/{agent['id']}")).status_code == 204
    assert_error(await browser.get(f"{API}/agents/{agent['id']}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.delete(f"{API}/agents/{agent['id']}"), 404, "RESOURCE_NOT_FOUND")


async def test_duplicate_makes_a_copy_named_copy(browser: AsyncClient) -> None:
    agent = await make_agent(browser, name="Researcher", tool_ids=["current_time"])
    response = await browser.post(f"{API}/agents/{agent['id']}/duplicate")
    assert response.status_code == 201, response.text
    copy = response.json()
    assert copy["id"] != agent["id"] and copy["name"] == "Researcher (copy)"
    assert copy["tool_ids"] == ["current_time"] and copy["version"] == 1
    assert copy["instructions"] == agent["instructions"]
    assert (await browser.get(f"{API}/agents")).json()["pagination"]["total"] == 2


async def test_references_that_are_not_the_callers_are_missing(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    stranger, _ = await browser_for(app)
    theirs = await create_fake_provider(stranger, fake_llm)
    their_tool = await create_tool(stranger, http_tool(fake_llm))
    other = await new_project(browser, "Other")
    other_tool = await create_tool(browser, http_tool(fake_llm, project_id=other))
    base = {"name": "A", "instructions": "Help"}
    nobody, no_base = str(uuid.uuid4()), str(uuid.uuid4())
    cases = [
        ({"provider_id": theirs["id"]}, "provider_id", theirs["id"]),
        ({"provider_id": nobody}, "provider_id", nobody),
        ({"tool_ids": [their_tool["id"]]}, "tool_ids", their_tool["id"]),
        ({"tool_ids": [other_tool["id"]]}, "tool_ids", other_tool["id"]),
        ({"tool_ids": ["not_a_builtin"]}, "tool_ids", "not_a_builtin"),
        ({"knowledge_base_ids": [no_base]}, "knowledge_base_ids", no_base),
    ]
    answers = []
    for extra, field, named in cases:
        response = await browser.post(f"{API}/agents", json={**base, **extra})
        answers.append(assert_missing_reference(response, field, named))
    assert answers[0] == answers[1]  # another user's provider looks like no provider at all
    assert answers[2] == answers[3]
    assert (await browser.get(f"{API}/agents")).json()["data"] == []
    await stranger.aclose()


async def test_viewers_read_agents_editors_change_and_run_them(
    app: FastAPI, browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project = await new_project(browser, "Team")
    agent = await make_agent(browser, project_id=project)
    email = unique_email("viewer")
    viewer, _ = await browser_for(app, email)
    await add_member(browser, project, viewer, email, "viewer")
    assert (await viewer.get(f"{API}/agents/{agent['id']}")).status_code == 200
    for verb, url, body in (
        ("PUT", f"{API}/agents/{agent['id']}", {"name": "Mine"}),
        ("DELETE", f"{API}/agents/{agent['id']}", None),
        ("POST", f"{API}/agents/{agent['id']}/duplicate", None),
        ("POST", f"{API}/agents/{agent['id']}/run", {"input": "Hi"}),
        ("POST", f"{API}/agents", {"name": "V", "instructions": "x", "project_id": project}),
    ):
        assert_error(await viewer.request(verb, url, json=body), 403, "FORBIDDEN")
    assert (await browser.get(f"{API}/runs")).json()["data"] == []
    await viewer.aclose()


async def test_deleting_a_custom_tool_takes_it_out_of_agents(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    tool = await create_tool(browser, http_tool(fake_llm))
    agent = await make_agent(browser, tool_ids=[tool["id"], "calculator"])
    assert (await browser.delete(f"{API}/tools/{tool['id']}")).status_code == 204
    after = (await browser.get(f"{API}/agents/{agent['id']}")).json()
    assert after["tool_ids"] == ["calculator"] and after["version"] == 2
