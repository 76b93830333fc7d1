"""/runs and /ci/runs: filters, keyset pages, project roles, and one user's runs invisible to
another whatever credential they use."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import update

from orbiter.core.db import transaction
from orbiter.core.errors import Forbidden
from orbiter.core.time import utcnow
from orbiter.models import Run
from orbiter.runtime.resources import Resources
from tests.conversations.util import streaming_client
from tests.helpers import SignedIn, add_member, assert_error
from tests.runs.util import API, start_run, wait_for
from tests.sse import sse_events

pytestmark = pytest.mark.usefixtures("worker")


async def _ids(client: httpx.AsyncClient, query: str = "") -> list[str]:
    response = await client.get(f"{API}/runs{query}")
    assert response.status_code == 200, response.text
    return [run["id"] for run in response.json()["data"]]


async def test_the_list_filters_by_project_target_status_and_time(
    resources: Resources, owner: SignedIn
) -> None:
    project = await owner.browser.post(f"{API}/projects", json={"name": "Elsewhere"})
    other_project = project.json()["id"]
    agent, workflow = uuid.uuid4(), uuid.uuid4()
    as_agent = await start_run(resources, owner, kind="agent", target_id=agent, send=False)
    as_workflow = await start_run(resources, owner, kind="workflow", target_id=workflow, send=False)
    done = await start_run(resources, owner)
    elsewhere = await start_run(resources, owner, project_id=other_project, send=False)
    await wait_for(owner.api, done)
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Run)
            .where(Run.id == uuid.UUID(as_agent))
            .values(created_at=utcnow() - timedelta(days=2))
        )

    assert await _ids(owner.api) == [elsewhere, done, as_workflow, as_agent]
    assert await _ids(owner.api, f"?project_id={other_project}") == [elsewhere]
    assert await _ids(owner.api, f"?agent_id={agent}") == [as_agent]
    assert await _ids(owner.api, f"?agent_id={workflow}") == []  # a workflow is no agent
    assert await _ids(owner.api, f"?workflow_id={workflow}") == [as_workflow]
    assert await _ids(owner.api, "?status=succeeded") == [done]
    assert await _ids(owner.api, "?status=queued") == [elsewhere, as_workflow, as_agent]
    yesterday = (utcnow() - timedelta(days=1)).isoformat().replace("+00:00", "Z")
    assert as_agent not in await _ids(owner.api, f"?since={yesterday}")
    assert await _ids(owner.api, f"?until={yesterday}") == [as_agent]
    bad = await owner.api.get(f"{API}/runs?status=exploded")
    assert_error(bad, 422, "VALIDATION_ERROR")


async def test_the_list_pages_with_keyset_cursors(resources: Resources, owner: SignedIn) -> None:
    made = [await start_run(resources, owner, send=False) for _ in range(5)]
    seen: list[str] = []
    cursor = ""
    while True:
        response = await owner.api.get(f"{API}/runs?limit=2{cursor}")
        body = response.json()
        assert body["pagination"]["total"] == 5
        seen += [run["id"] for run in body["data"]]
        if not body["pagination"]["has_more"]:
            break
        cursor = f"&cursor={body['pagination']['next_cursor']}"
        await start_run(resources, owner, send=False)  # new runs do not shift the pages
    assert seen == list(reversed(made))


async def test_members_see_runs_editors_cancel_viewers_do_not(
    resources: Resources, owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> None:
    project = (await owner.browser.post(f"{API}/projects", json={"name": "Team"})).json()["id"]
    viewer, editor = await signed_in(), await signed_in()
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    run_id = await start_run(resources, owner, project_id=project, send=False)

    assert await _ids(viewer.api) == [run_id]
    assert (await viewer.cli.get(f"{API}/runs/{run_id}")).status_code == 200
    assert_error(await viewer.browser.post(f"{API}/runs/{run_id}/cancel"), 403, "FORBIDDEN")
    cancelled = await editor.browser.post(f"{API}/runs/{run_id}/cancel")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    # A viewer cannot start runs either.
    with pytest.raises(Forbidden):
        await start_run(resources, viewer, project_id=project)


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_stranger_gets_404_on_every_run_route(
    resources: Resources,
    owner: SignedIn,
    signed_in: Callable[[], Awaitable[SignedIn]],
    method: str,
) -> None:
    stranger = await signed_in()
    run_id = await start_run(resources, owner, {"do": "ask"})
    await wait_for(owner.api, run_id, "awaiting_input")
    intruder = stranger.clients()[method]
    for verb, url in (
        ("GET", f"{API}/runs/{run_id}"),
        ("POST", f"{API}/runs/{run_id}/cancel"),
        ("POST", f"{API}/runs/{run_id}/approve"),
        ("POST", f"{API}/runs/{run_id}/reject"),
        ("GET", f"{API}/runs/{run_id}/events"),
    ):
        body: dict[str, str] | None = {} if verb == "POST" else None
        hidden = assert_error(
            await intruder.request(verb, url, json=body), 404, "RESOURCE_NOT_FOUND"
        )
        missing = assert_error(
            await intruder.request(verb, url.replace(run_id, str(uuid.uuid4())), json=body),
            404,
            "RESOURCE_NOT_FOUND",
        )
        assert hidden == missing
    assert run_id not in await _ids(intruder)
    assert run_id not in await _ids(intruder, f"?project_id={(await _owner_project(owner))}")
    ci = await stranger.api.get(f"{API}/ci/runs/{run_id}")
    assert_error(ci, 404, "RESOURCE_NOT_FOUND")
    assert (await owner.api.get(f"{API}/runs/{run_id}")).json()["status"] == "awaiting_input"


async def _owner_project(owner: SignedIn) -> str:
    projects = (await owner.browser.get(f"{API}/projects")).json()["data"]
    return str(projects[0]["id"])


async def test_ci_reads_a_run_with_an_api_key_only(resources: Resources, owner: SignedIn) -> None:
    run_id = await start_run(resources, owner, input={"output": {"report": "green"}})
    await wait_for(owner.api, run_id)
    response = await owner.api.get(f"{API}/ci/runs/{run_id}")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "succeeded" and body["output"] == {"report": "green"}
    assert "trace" not in body
    for client in (owner.browser, owner.cli):
        assert_error(await client.get(f"{API}/ci/runs/{run_id}"), 401, "UNAUTHORIZED")


async def test_the_events_stream_follows_a_run_live(
    app: FastAPI, resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(
        resources,
        owner,
        {"do": "step", "name": "a", "then": [{"do": "sleep", "seconds": 0.5}]},
        {"do": "emit", "type": "delta", "data": {"text": "late"}},
    )
    async with (
        streaming_client(app, owner.api) as client,
        client.stream("GET", f"{API}/runs/{run_id}/events") as response,
    ):
        assert response.status_code == 200
        names = [event.event async for event in sse_events(response)]
    assert names == ["step_started", "step_finished", "delta", "done"]
