"""Approval gates: a run waiting as `awaiting_approval` is approved (back to a worker with the
decision) or rejected (ended `cancelled` with the reason) by editors and owners only."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from orbiter.runtime.resources import Resources
from tests.helpers import SignedIn, assert_error
from tests.runs.util import API, get_run, start_run, team, wait_for
from tests.sse import parse_sse

pytestmark = pytest.mark.usefixtures("worker")

GATE = {"do": "approve", "action": "deploy"}


async def test_an_editor_approves_and_the_run_goes_on_with_the_decision(
    resources: Resources, owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> None:
    project, _, editor = await team(owner, signed_in)
    run_id = await start_run(resources, owner, GATE, project_id=project)
    await wait_for(owner.api, run_id, "awaiting_approval")

    decision = {"comment": "Looks right", "payload": {"target": "staging"}}
    approved = await editor.browser.post(f"{API}/runs/{run_id}/approve", json=decision)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "queued"

    run = await wait_for(owner.api, run_id)
    assert run["status"] == "succeeded", run
    assert run["output"]["resumed_with"] == {
        "approved": True,
        "comment": "Looks right",
        "payload": {"target": "staging"},
        "decided_by": editor.user["id"],
    }
    assert run["attempts"] == 2
    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert [e.event for e in events] == ["approval", "done"]


async def test_a_rejected_run_ends_cancelled_with_the_reason(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, GATE)
    await wait_for(owner.api, run_id, "awaiting_approval")

    rejected = await owner.cli.post(f"{API}/runs/{run_id}/reject", json={"reason": "Not today"})
    assert rejected.status_code == 200, rejected.text
    body = rejected.json()
    assert body["status"] == "cancelled" and body["finished_at"] is not None
    assert body["error"] == {"code": "APPROVAL_REJECTED", "message": "Not today"}

    events = parse_sse((await owner.api.get(f"{API}/runs/{run_id}/events")).text)
    assert [e.event for e in events] == ["approval", "cancelled"]
    assert events[-1].data["error"] == body["error"]
    # Decided once: neither a second rejection nor a late approval changes it.
    for verb in ("reject", "approve"):
        late = await owner.cli.post(f"{API}/runs/{run_id}/{verb}", json={})
        assert assert_error(late, 409, "CONFLICT")["details"] == {"status": "cancelled"}
    assert (await get_run(owner.api, run_id))["error"] == body["error"]


async def test_a_rejection_without_a_reason_says_where_it_ended(
    resources: Resources, owner: SignedIn
) -> None:
    run_id = await start_run(resources, owner, GATE)
    await wait_for(owner.api, run_id, "awaiting_approval")
    rejected = await owner.api.post(f"{API}/runs/{run_id}/reject", json={})
    assert rejected.json()["error"] == {
        "code": "APPROVAL_REJECTED",
        "message": "Rejected at the approval gate",
    }


async def test_viewers_cannot_decide_and_the_run_keeps_waiting(
    resources: Resources, owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> None:
    project, viewer, _ = await team(owner, signed_in)
    run_id = await start_run(resources, owner, GATE, project_id=project)
    await wait_for(owner.api, run_id, "awaiting_approval")
    for verb in ("approve", "reject"):
        refused = await viewer.browser.post(f"{API}/runs/{run_id}/{verb}", json={})
        assert_error(refused, 403, "FORBIDDEN")
    assert (await get_run(owner.api, run_id))["status"] == "awaiting_approval"


async def test_only_a_run_waiting_for_an_approval_can_be_decided(
    resources: Resources, owner: SignedIn
) -> None:
    asking = await start_run(resources, owner, {"do": "ask", "question": "Which?"})
    await wait_for(owner.api, asking, "awaiting_input")
    finished = await start_run(resources, owner)
    await wait_for(owner.api, finished, "succeeded")
    for run_id, status in ((asking, "awaiting_input"), (finished, "succeeded")):
        for verb in ("approve", "reject"):
            refused = await owner.api.post(f"{API}/runs/{run_id}/{verb}", json={})
            assert assert_error(refused, 409, "CONFLICT")["details"] == {"status": status}
        assert (await get_run(owner.api, run_id))["status"] == status


@pytest.mark.parametrize(
    ("verb", "body"),
    [
        ("approve", {"comment": "x" * 2001}),
        ("approve", {"approved": False}),
        ("reject", {"reason": "x" * 2001}),
        ("reject", {"reason": 7}),
    ],
)
async def test_bad_decisions_are_refused_and_the_run_keeps_waiting(
    resources: Resources, owner: SignedIn, verb: str, body: dict[str, object]
) -> None:
    run_id = await start_run(resources, owner, GATE)
    await wait_for(owner.api, run_id, "awaiting_approval")
    refused = await owner.api.post(f"{API}/runs/{run_id}/{verb}", json=body)
    assert_error(refused, 422, "VALIDATION_ERROR")
    run = await get_run(owner.api, run_id)
    assert run["status"] == "awaiting_approval" and run["error"] is None
