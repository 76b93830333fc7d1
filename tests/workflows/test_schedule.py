"""The schedule trigger: a cron expression in a time zone, checked at save; the periodic job
`workflows.schedule` starts one run per due slot, however many workers tick at once."""

from __future__ import annotations

import asyncio
import math
import os
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from httpx import AsyncClient
from sqlalchemy import select, update

from orbiter.core.db import transaction
from orbiter.models import Run, Workflow
from orbiter.runtime.resources import Resources
from orbiter.workflows.triggers import fire_due_schedules
from tests.helpers import API, SignedInFactory, assert_error
from tests.runs.test_workers import PLAIN, worker_processes
from tests.runs.util import wait_for
from tests.workflows.util import canvas, edge, make_workflow, node

NEVER_SOON = "0 0 1 1 *"  # midnight on January 1st: no slot comes during a test by itself


def schedule(cron: str = NEVER_SOON, **settings: Any) -> dict[str, Any]:
    return canvas(node("tick", "schedule", cron=cron, **settings))


@pytest.fixture
async def quiet_ticker(resources: Resources) -> None:
    """This process's own ticker (the app's embedded, `run_worker`'s otherwise) leaves the
    schedule alone during the test: the next ticks of `workflows.schedule` are claimed here,
    as another worker would claim them (queue/periodic.py names them `tick:<job>:<slot>`)."""
    every = resources.settings.schedule_tick_seconds
    now = math.floor(time.time() / every)
    for slot in range(now, now + 3):
        await resources.queue.claim_once(f"tick:workflows.schedule:{slot}", math.ceil(every * 4))


async def columns(resources: Resources, workflow_id: str) -> Workflow:
    async with transaction(resources.sessionmaker) as db:
        row = await db.get(Workflow, uuid.UUID(workflow_id))
    assert row is not None
    return row


async def make_due(resources: Resources, workflow_id: str, ago: timedelta) -> datetime:
    """Move the workflow's next fire time into the past, as if the slot had come."""
    slot = datetime.now(UTC).replace(second=0, microsecond=0) - ago
    async with transaction(resources.sessionmaker) as db:
        await db.execute(
            update(Workflow)
            .where(Workflow.id == uuid.UUID(workflow_id))
            .values(schedule_next_at=slot)
        )
    return slot


async def run_ids_of(resources: Resources, workflow_id: str) -> list[str]:
    """Read from the database: polling the API would spend the user's rate limit."""
    async with transaction(resources.sessionmaker) as db:
        found = await db.scalars(select(Run.id).where(Run.target_id == uuid.UUID(workflow_id)))
    return [str(run_id) for run_id in found]


async def runs_of(client: AsyncClient, workflow_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{API}/runs", params={"workflow_id": workflow_id})
    assert response.status_code == 200, response.text
    data: list[dict[str, Any]] = response.json()["data"]
    return data


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"cron": "10 9 1 12"}, "cron", "five fields"),
        ({"cron": "0 0 9 * * *"}, "cron", "five fields"),  # no seconds field
        ({"cron": "61 9 * * *"}, "cron", "not valid"),
        ({"cron": "0 0 30 2 *"}, "cron", "not valid"),  # February has no 30th
        ({"cron": "0 9 * * *", "timezone": "Mars/Olympus"}, "timezone", "IANA time zone"),
        ({"cron": "0 9 * * *", "timezone": "../etc/passwd"}, "timezone", "IANA time zone"),
    ],
)
async def test_a_bad_cron_or_time_zone_is_refused_at_save(
    signed_in: SignedInFactory, config: dict[str, Any], field: str, words: str
) -> None:
    alice = await signed_in()
    bad = canvas(
        node("answer", "api_response"),
        node("tick", "schedule", **config),  # node 1
        edges=[edge("tick", "answer")],
    )
    created = await alice.browser.post(f"{API}/workflows", json={"name": "S", "canvas": bad})

    error = assert_error(created, 422, "VALIDATION_ERROR")
    [problem] = error["details"]["fields"]
    assert problem["field"] == f"canvas.nodes.1.data.{field}", error
    assert words in problem["message"] and '"tick"' in problem["message"], error

    workflow = await make_workflow(alice.browser, canvas=schedule())
    updated = await alice.browser.put(f"{API}/workflows/{workflow['id']}", json={"canvas": bad})
    assert assert_error(updated, 422, "VALIDATION_ERROR")["details"] == error["details"]


async def test_the_next_fire_time_is_computed_in_the_time_zone(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    saved = datetime.now(UTC)
    workflow = await make_workflow(
        alice.browser, canvas=schedule("0 9 * * *", timezone="Europe/Paris")
    )

    paris = saved.astimezone(ZoneInfo("Europe/Paris"))
    nine = paris.replace(hour=9, minute=0, second=0, microsecond=0)
    if nine <= paris:
        nine = (paris + timedelta(days=1)).replace(hour=9, minute=0, second=0, microsecond=0)
    row = await columns(resources, workflow["id"])
    assert row.trigger_type == "schedule"
    assert (row.schedule_cron, row.schedule_timezone) == ("0 9 * * *", "Europe/Paris")
    assert row.schedule_next_at == nine.astimezone(UTC)
    assert row.schedule_next_at.hour in (7, 8)  # 9:00 in Paris is 7:00 or 8:00 UTC
    assert workflow["trigger_type"] == "schedule"  # and the API says when
    assert datetime.fromisoformat(workflow["schedule_next_at"]) == row.schedule_next_at

    manual = canvas(node("start", "manual"))
    put = await alice.browser.put(f"{API}/workflows/{workflow['id']}", json={"canvas": manual})
    assert (put.json()["trigger_type"], put.json()["schedule_next_at"]) == ("manual", None)
    row = await columns(resources, workflow["id"])
    assert row.trigger_type == "manual"
    assert (row.schedule_cron, row.schedule_timezone, row.schedule_next_at) == (None, None, None)


@pytest.mark.usefixtures("run_worker", "quiet_ticker")
async def test_a_due_slot_starts_exactly_one_run_however_many_workers_tick(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    workflow = await make_workflow(alice.browser, canvas=schedule(inputs={"who": "cron", "n": 1}))
    slot = await make_due(resources, workflow["id"], timedelta(minutes=3))

    started = await asyncio.gather(*(fire_due_schedules(resources) for _ in range(3)))

    assert sorted(started) == [0, 0, 1]
    [run] = await runs_of(alice.browser, workflow["id"])
    assert run["input"] == {"inputs": {"who": "cron", "n": 1}, "trigger": "schedule"}
    assert run["user_id"] == alice.user["id"]
    assert (await wait_for(alice.browser, run["id"]))["status"] == "succeeded"
    next_at = (await columns(resources, workflow["id"])).schedule_next_at
    assert next_at is not None and next_at > datetime.now(UTC) > slot  # missed slots skipped
    assert await fire_due_schedules(resources) == 0  # not due any more
    assert len(await runs_of(alice.browser, workflow["id"])) == 1


@pytest.mark.usefixtures("quiet_ticker")
async def test_nothing_starts_before_the_slot(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    workflow = await make_workflow(alice.browser, canvas=schedule("* * * * *"))
    before = (await columns(resources, workflow["id"])).schedule_next_at

    assert await fire_due_schedules(resources) == 0

    assert await runs_of(alice.browser, workflow["id"]) == []
    assert (await columns(resources, workflow["id"])).schedule_next_at == before


@pytest.mark.usefixtures("run_worker", "quiet_ticker")
async def test_one_broken_schedule_does_not_stop_the_others(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    alice = await signed_in()
    broken = await make_workflow(alice.browser, name="Broken", canvas=schedule())
    healthy = await make_workflow(alice.browser, name="Healthy", canvas=schedule())
    await make_due(resources, broken["id"], timedelta(minutes=5))  # first in line
    await make_due(resources, healthy["id"], timedelta(minutes=1))
    async with transaction(resources.sessionmaker) as db:  # e.g. a zone gone from tzdata
        await db.execute(
            update(Workflow)
            .where(Workflow.id == uuid.UUID(broken["id"]))
            .values(schedule_timezone="Gone/Zone")
        )

    assert await fire_due_schedules(resources) == 1

    assert await runs_of(alice.browser, broken["id"]) == []
    assert len(await runs_of(alice.browser, healthy["id"])) == 1


@pytest.mark.skipif(
    os.environ.get("ORBITER_TEST_BACKEND") != "services",
    reason="separate worker processes share the ticks through Redis",
)
async def test_two_worker_processes_fire_a_due_slot_once(
    signed_in: SignedInFactory,
    resources: Resources,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ORBITER_SCHEDULE_TICK_SECONDS", "0.2")
    alice = await signed_in()
    workflow = await make_workflow(alice.browser, canvas=schedule(inputs={"from": "workers"}))
    async with worker_processes(tmp_path) as start:
        start(*PLAIN), start(*PLAIN)
        await make_due(resources, workflow["id"], timedelta(minutes=1))
        async with asyncio.timeout(90):  # the workers start, then one of them fires
            while not (run_ids := await run_ids_of(resources, workflow["id"])):
                await asyncio.sleep(0.5)
        run = await wait_for(alice.browser, run_ids[0], timeout=60)
        await asyncio.sleep(2)  # ten more ticks of each worker
    assert [r["id"] for r in await runs_of(alice.browser, workflow["id"])] == [run["id"]]
    assert run["status"] == "succeeded", run
    assert run["input"] == {"inputs": {"from": "workers"}, "trigger": "schedule"}
