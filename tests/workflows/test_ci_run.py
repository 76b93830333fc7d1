"""POST /ci/workflows/{id}/run: CI starts a workflow with its API key, and may wait for it
(bounded by ORBITER_RUN_WAIT_SECONDS); GET /ci/runs/{id} reads it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from orbiter.runtime.resources import Resources
from tests.helpers import API, SignedIn, assert_error
from tests.runs.util import wait_for
from tests.workflows.util import canvas, edge, make_workflow, node

pytestmark = pytest.mark.usefixtures("run_worker")


def sleeping(ms: int) -> dict[str, Any]:
    return canvas(
        node("start", "manual"),
        node("work", "test_sleep", ms=ms),
        edges=[edge("start", "work")],
    )


@pytest.fixture
async def owner(signed_in: Callable[[], Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in()


async def test_ci_waits_for_the_run_and_gets_its_output(owner: SignedIn) -> None:
    workflow = await make_workflow(owner.browser, canvas=sleeping(50))
    response = await owner.api.post(
        f"{API}/ci/workflows/{workflow['id']}/run",
        params={"wait": "true"},
        json={"inputs": {"ref": "main"}},
    )
    assert response.status_code == 200, response.text
    run = response.json()
    assert run["status"] == "succeeded"
    assert run["output"]["work"]["value"] == {"ref": "main"}
    assert run["input"] == {"inputs": {"ref": "main"}, "trigger": "ci"}
    read = await owner.api.get(f"{API}/ci/runs/{run['id']}")
    assert read.json()["output"] == run["output"]


async def test_ci_gets_the_running_run_when_the_wait_runs_out(
    owner: SignedIn, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "run_wait_seconds", 0.3)
    workflow = await make_workflow(owner.browser, canvas=sleeping(2000))
    response = await owner.api.post(
        f"{API}/ci/workflows/{workflow['id']}/run", params={"wait": "true"}, json={}
    )
    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("queued", "running")
    finished = await wait_for(owner.api, response.json()["id"])
    assert finished["status"] == "succeeded"


async def test_without_wait_ci_gets_the_queued_run(owner: SignedIn) -> None:
    workflow = await make_workflow(owner.browser, canvas=sleeping(0))
    response = await owner.api.post(f"{API}/ci/workflows/{workflow['id']}/run", json={})
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert (await wait_for(owner.api, response.json()["id"]))["status"] == "succeeded"


async def test_ci_routes_take_api_keys_only_and_only_the_callers_workflows(
    owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> None:
    workflow = await make_workflow(owner.browser, canvas=sleeping(0))
    url = f"{API}/ci/workflows/{workflow['id']}/run"
    for client in (owner.browser, owner.cli):
        assert_error(await client.post(url, json={}), 401, "UNAUTHORIZED")
    stranger = await signed_in()
    assert_error(await stranger.api.post(url, json={}), 404, "RESOURCE_NOT_FOUND")
    refused = await owner.api.post(url, json={"inputs": []})
    assert_error(refused, 422, "VALIDATION_ERROR")
    runs = await owner.browser.get(f"{API}/runs", params={"workflow_id": workflow["id"]})
    assert runs.json()["data"] == []
