"""Retrieval in runs: an agent with knowledge bases calls `knowledge_search`, a workflow's
`knowledge_retrieval` node searches one knowledge base; each records a `retrieval` span in
the run's trace. And indexing that lost its worker is taken back by the recovery tick."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from httpx import AsyncClient
from sqlalchemy import update

from orbiter.core.db import transaction
from orbiter.core.time import utcnow
from orbiter.knowledge.jobs import MAX_ATTEMPTS, recover_documents
from orbiter.models import Document
from orbiter.runtime.resources import Resources
from tests.agents.util import make_agent, spans, start_run, wait_for_run
from tests.fakes.llm_servers import FakeLLM, create_fake_provider, turn
from tests.helpers import API, assert_missing_reference
from tests.knowledge.util import indexed, make_kb, upload, wait_done
from tests.workflows.runs import run_canvas
from tests.workflows.util import canvas, edge, node

pytestmark = pytest.mark.usefixtures("run_worker")

OTTERS = b"Sea otters hold hands while they sleep so they do not drift apart."


def retrieval_spans(run: dict[str, Any]) -> list[dict[str, Any]]:
    return spans(run["trace"], "retrieval")


async def test_an_agent_searches_its_knowledge_bases(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    kb = await make_kb(browser)
    document = await indexed(browser, kb["id"], "otters.txt", OTTERS)
    other = await make_kb(browser, name="Other")
    await indexed(browser, other["id"], "more-otters.txt", b"Otters also eat sea urchins.")
    await create_fake_provider(browser, fake_llm)
    agent = await make_agent(browser, knowledge_base_ids=[kb["id"], kb["id"]])
    assert agent["knowledge_base_ids"] == [kb["id"]]
    fake_llm.queue_turns(
        turn("", ("knowledge_search", {"query": "otters"})), turn("They hold hands.")
    )
    run = await wait_for_run(browser, (await start_run(browser, agent["id"], "otters?"))["id"])
    assert run["status"] == "succeeded", run
    offered = fake_llm.completions()[0].json["tools"]
    assert [t["function"]["name"] for t in offered] == ["knowledge_search"]
    [tool] = spans(run["trace"], "tool")
    [retrieval] = retrieval_spans(run)
    assert retrieval in tool["children"] and retrieval["status"] == "ok"
    assert retrieval["input"]["query"] == "otters"
    assert retrieval["output"]["method"] == "text"
    # Only the agent's knowledge base was searched.
    assert [hit["document_id"] for hit in retrieval["output"]["results"]] == [document["id"]]
    answered = fake_llm.completions()[1].json["messages"][-1]
    assert answered["role"] == "tool" and "hold hands" in answered["content"]


async def test_an_agent_refuses_knowledge_bases_of_other_projects(browser: AsyncClient) -> None:
    project = (await browser.post(f"{API}/projects", json={"name": "Elsewhere"})).json()["id"]
    elsewhere = await make_kb(browser, project_id=project)
    response = await browser.post(
        f"{API}/agents",
        json={"name": "A", "instructions": "x", "knowledge_base_ids": [elsewhere["id"]]},
    )
    assert_missing_reference(response, "knowledge_base_ids", elsewhere["id"])


async def test_the_knowledge_retrieval_node_records_a_retrieval_span(
    browser: AsyncClient,
) -> None:
    kb = await make_kb(browser)
    document = await indexed(browser, kb["id"], "otters.txt", OTTERS)
    search = node(
        "search", "knowledge_retrieval", knowledge_base_id=kb["id"], query="{{ inputs.q }}"
    )
    flow = canvas(node("start", "manual"), search, edges=[edge("start", "search")])
    run = await run_canvas(browser, flow, q="why do otters hold hands")
    assert run["status"] == "succeeded", run["error"]
    [retrieval] = retrieval_spans(run)
    assert retrieval["name"] == "knowledge_retrieval"
    assert retrieval["input"]["knowledge_base_ids"] == [kb["id"]]
    [hit] = retrieval["output"]["results"]
    assert hit["document_id"] == document["id"]
    node_span = next(s for s in spans(run["trace"], "node") if retrieval in s["children"])
    assert node_span["output"]["results"][0]["text"] == OTTERS.decode()
    missing = node("search", "knowledge_retrieval", knowledge_base_id=str(uuid.uuid4()), query="x")
    gone = await run_canvas(
        browser, canvas(node("start", "manual"), missing, edges=[edge("start", "search")])
    )
    assert gone["status"] == "failed" and "No knowledge base" in gone["error"]["message"]


async def test_the_tool_invoked_alone_searches_the_project(browser: AsyncClient) -> None:
    kb = await make_kb(browser)
    await indexed(browser, kb["id"], "otters.txt", OTTERS)
    response = await browser.post(
        f"{API}/tools/knowledge_search/invoke", json={"input": {"query": "otters", "top_k": 1}}
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["error"] is None and result["output"]["method"] == "text"
    assert result["output"]["results"][0]["document_name"] == "otters.txt"
    run = (await browser.get(f"{API}/runs/{result['run_id']}")).json()
    assert len(retrieval_spans(run)) == 1


async def _lose_worker(resources: Resources, document_id: str, attempts: int) -> None:
    """What a worker killed mid-indexing leaves: `processing`, started long ago."""
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Document)
            .where(Document.id == uuid.UUID(document_id))
            .values(
                status="processing",
                attempts=attempts,
                processing_started_at=utcnow() - timedelta(hours=1),
            )
        )


async def test_indexing_whose_worker_died_is_taken_back(
    browser: AsyncClient, resources: Resources
) -> None:
    kb = await make_kb(browser)
    first = await indexed(browser, kb["id"], "otters.txt", OTTERS)
    await _lose_worker(resources, first["id"], attempts=1)
    assert await recover_documents(resources) == 1
    again = await wait_done(browser, first["id"])
    assert again["status"] == "ready" and again["chunks_done"] == again["chunks_total"] == 1
    response = await upload(browser, kb["id"], "owls.txt", b"Barn owls hunt at night.")
    second = await wait_done(browser, response.json()["id"])
    await _lose_worker(resources, second["id"], attempts=MAX_ATTEMPTS)
    assert await recover_documents(resources) == 0
    failed = (await browser.get(f"{API}/documents/{second['id']}")).json()
    assert failed["status"] == "failed" and "worker was lost" in failed["error"]
