"""The index follows every write: an edit is found by its new words only, a delete is gone,
and a conversation's delete takes its messages along."""

from __future__ import annotations

from httpx import AsyncClient

from tests.agents.util import make_agent
from tests.conversations.util import new_conversation
from tests.fakes.llm_servers import FakeLLM
from tests.helpers import new_project
from tests.search.util import chat, found
from tests.workflows.util import make_workflow


async def test_an_edit_is_found_by_its_new_word_and_not_its_old_one(browser: AsyncClient) -> None:
    project_id = await new_project(browser, "Osprey", description="old moorhen")
    agent = await make_agent(browser, name="Grebe", instructions="Watches lapwings")
    workflow = await make_workflow(browser, name="Curlew", description="Counts dunlins")
    conversation = await new_conversation(browser, title="About puffins")

    changes = [
        (f"/api/v1/projects/{project_id}", {"description": "new avocet"}, "put"),
        (f"/api/v1/agents/{agent['id']}", {"instructions": "Watches godwits"}, "put"),
        (f"/api/v1/workflows/{workflow['id']}", {"name": "Whimbrel"}, "put"),
        (f"/api/v1/conversations/{conversation['id']}", {"title": "About guillemots"}, "patch"),
    ]
    for url, body, method in changes:
        response = await browser.request(method.upper(), url, json=body)
        assert response.status_code == 200, response.text

    for old in ("moorhen", "lapwings", "curlew", "puffins"):
        assert await found(browser, old) == set(), old
    assert await found(browser, "avocet") == {("project", project_id)}
    assert await found(browser, "godwits") == {("agent", agent["id"])}
    assert await found(browser, "whimbrel") == {("workflow", workflow["id"])}
    assert await found(browser, "guillemots") == {("conversation", conversation["id"])}
    # Words that did not change are still found.
    assert await found(browser, "osprey") == {("project", project_id)}
    assert await found(browser, "grebe") == {("agent", agent["id"])}
    assert await found(browser, "dunlins") == {("workflow", workflow["id"])}


async def test_deleted_rows_disappear(browser: AsyncClient, fake_llm: FakeLLM) -> None:
    project_id = await new_project(browser, "Skua")
    agent = await make_agent(browser, name="Skua agent", project_id=project_id)
    workflow = await make_workflow(browser, name="Skua flow", project_id=project_id)
    conversation = (await chat(browser, fake_llm, "skua sightings"))["conversation"]
    assert {kind for kind, _ in await found(browser, "skua")} == {
        "project",
        "agent",
        "workflow",
        "conversation",
        "message",
    }

    deleted = await browser.delete(f"/api/v1/agents/{agent['id']}")
    assert deleted.status_code == 204, deleted.text
    assert ("agent", agent["id"]) not in await found(browser, "skua")

    deleted = await browser.delete(f"/api/v1/conversations/{conversation['id']}")
    assert deleted.status_code == 204, deleted.text
    assert await found(browser, "sightings") == set()  # both messages went with it

    deleted = await browser.delete(f"/api/v1/projects/{project_id}")
    assert deleted.status_code == 204, deleted.text
    assert await found(browser, "skua") == set()  # and the workflow with its project
    assert ("workflow", workflow["id"]) not in await found(browser, "flow")
