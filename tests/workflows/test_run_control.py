"""Workflow runs: approval gates pause and resume them, a run keeps the version it started
with, node events stream, cancel stops the nodes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from httpx import AsyncClient

from tests.helpers import API, SignedIn, assert_error
from tests.runs.util import get_run, team, wait_for
from tests.sse import parse_sse
from tests.workflows.runs import node_spans, start
from tests.workflows.util import canvas, edge, make_workflow, node

pytestmark = pytest.mark.usefixtures("run_worker")


def gated() -> dict[str, Any]:
    return canvas(
        node("start", "manual"),
        node("plan", "test_sleep"),
        node("gate", "approval_gate", message="Deploy {{ inputs.app }}?", payload="{{ inputs }}"),
        node("ship", "test_sleep"),
        edges=[edge("start", "plan"), edge("start", "gate"), edge("gate", "ship")],
    )


async def test_a_gate_pauses_the_run_and_an_editors_approval_resumes_it_with_the_edit(
    signed_in: Callable[[], Awaitable[SignedIn]],
) -> None:
    owner = await signed_in()
    project, viewer, editor = await team(owner, signed_in)
    workflow = await make_workflow(owner.browser, canvas=gated(), project_id=project)
    run = await start(owner.browser, workflow["id"], app="web")
    waiting = await wait_for(owner.browser, run["id"], "awaiting_approval")
    assert "plan (test_sleep)" in node_spans(waiting)  # the other branch ran meanwhile
    assert "ship (test_sleep)" not in node_spans(waiting)
    events = parse_sse((await owner.browser.get(f"{API}/runs/{run['id']}/events")).text)
    assert events[-1].event == "approval"
    assert events[-1].data["message"] == "Deploy web?"
    assert events[-1].data["payload"] == {"app": "web"}

    for verb in ("approve", "reject"):
        refused = await viewer.browser.post(f"{API}/runs/{run['id']}/{verb}", json={})
        assert_error(refused, 403, "FORBIDDEN")
    decision = {"comment": "ok", "payload": {"app": "web", "region": "eu"}}
    approved = await editor.browser.post(f"{API}/runs/{run['id']}/approve", json=decision)
    assert approved.status_code == 200, approved.text

    done = await wait_for(owner.browser, run["id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["output"] == {
        "plan": node_spans(done)["plan (test_sleep)"]["output"],
        "ship": node_spans(done)["ship (test_sleep)"]["output"],
    }
    assert done["output"]["ship"]["value"] == {"app": "web", "region": "eu"}
    assert len([n for n in node_spans(done) if n.startswith("plan ")]) == 1  # not run again


async def test_a_rejected_gate_ends_the_run_cancelled_and_nothing_after_it_runs(
    browser: AsyncClient,
) -> None:
    workflow = await make_workflow(browser, canvas=gated())
    run = await start(browser, workflow["id"], app="web")
    await wait_for(browser, run["id"], "awaiting_approval")
    rejected = await browser.post(f"{API}/runs/{run['id']}/reject", json={"reason": "freeze"})
    assert rejected.json()["error"] == {"code": "APPROVAL_REJECTED", "message": "freeze"}
    final = await get_run(browser, run["id"])
    assert final["status"] == "cancelled"
    assert "ship (test_sleep)" not in node_spans(final)


async def test_a_run_keeps_the_version_it_started_with(browser: AsyncClient) -> None:
    first = canvas(
        node("start", "manual"),
        node("slow", "test_sleep", ms=400),
        edges=[edge("start", "slow")],
    )
    workflow = await make_workflow(browser, canvas=first)
    run = await start(browser, workflow["id"])
    second = canvas(
        node("start", "manual"),
        node("other", "test_sleep"),
        edges=[edge("start", "other")],
    )
    saved = await browser.put(f"{API}/workflows/{workflow['id']}", json={"canvas": second})
    assert saved.json()["version"] == 2
    done = await wait_for(browser, run["id"])
    assert done["target_version"] == workflow["content_hash"]
    assert set(done["output"]) == {"slow"}
    again = await wait_for(browser, (await start(browser, workflow["id"]))["id"])
    assert again["target_version"] == saved.json()["content_hash"]
    assert set(again["output"]) == {"other"}


async def test_node_events_stream_with_accept_event_stream(browser: AsyncClient) -> None:
    workflow = await make_workflow(
        browser,
        canvas=canvas(
            node("start", "manual"),
            node("a", "test_sleep"),
            edges=[edge("start", "a")],
        ),
    )
    response = await browser.post(
        f"{API}/workflows/{workflow['id']}/run",
        json={"inputs": {"x": 1}},
        headers={"Accept": "text/event-stream"},
    )
    assert response.status_code == 200
    events = parse_sse(response.text)
    assert [(e.event, e.data.get("node_id")) for e in events] == [
        ("step_started", "start"),
        ("step_finished", "start"),
        ("step_started", "a"),
        ("step_finished", "a"),
        ("done", None),
    ]
    assert events[1].data["output"] == {"x": 1}


async def test_cancel_stops_a_running_workflow(browser: AsyncClient) -> None:
    workflow = await make_workflow(
        browser,
        canvas=canvas(
            node("start", "manual"),
            node("slow", "test_sleep", ms=30_000),
            edges=[edge("start", "slow")],
        ),
    )
    run = await start(browser, workflow["id"])
    await wait_for(browser, run["id"], "running")
    await asyncio.sleep(0.2)
    cancelled = await browser.post(f"{API}/runs/{run['id']}/cancel")
    assert cancelled.status_code == 200, cancelled.text
    final = await wait_for(browser, run["id"], timeout=5)
    assert final["status"] == "cancelled"
    assert node_spans(final)["slow (test_sleep)"]["status"] == "error"


async def test_inputs_are_checked_against_the_triggers_schema(browser: AsyncClient) -> None:
    schema = {"type": "object", "required": ["app"], "properties": {"app": {"type": "string"}}}
    workflow = await make_workflow(
        browser,
        canvas=canvas(node("start", "manual", input_schema=schema)),
    )
    refused = await browser.post(f"{API}/workflows/{workflow['id']}/run", json={"inputs": {}})
    body = assert_error(refused, 422, "VALIDATION_ERROR")
    assert body["details"]["fields"][0]["field"] == "inputs"
    runs = await browser.get(f"{API}/runs", params={"workflow_id": workflow["id"]})
    assert runs.json()["data"] == []
