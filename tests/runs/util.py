"""Starting runs the way a run-starting route does (`runs.service.create_run`, then the jobs
sent after the commit), and watching them through the API."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from httpx import AsyncClient

from orbiter.core.db import transaction
from orbiter.queue import drop_pending, send_pending
from orbiter.runs import service
from orbiter.runtime.resources import Resources
from tests.helpers import API as API  # the shared one, re-exported for the runs tests
from tests.helpers import SignedIn, add_member
from tests.runs.scripted import KIND

FINISHED = ("succeeded", "failed", "cancelled")


async def personal_project(user: SignedIn) -> str:
    projects = (await user.browser.get(f"{API}/projects")).json()["data"]
    return str(next(p["id"] for p in projects if p["is_personal"]))


async def start_run(
    resources: Resources,
    user: SignedIn,
    *actions: dict[str, Any],
    project_id: str | None = None,
    send: bool = True,
    **fields: Any,
) -> str:
    """A scripted run in the user's personal project (or `project_id`); with `send=False` the
    job is dropped, so the run stays queued (a lost job)."""
    project = uuid.UUID(project_id or await personal_project(user))
    run_input = {"actions": list(actions), **fields.pop("input", {})}
    async with transaction(resources.sessionmaker) as db:
        run = await service.create_run(
            db,
            resources,
            user_id=uuid.UUID(str(user.user["id"])),
            project_id=project,
            kind=fields.pop("kind", KIND),
            input=run_input,
            **fields,
        )
    if send:
        await send_pending(resources.queue, db)
    else:
        drop_pending(db)
    return str(run.id)


async def get_run(client: AsyncClient, run_id: str) -> dict[str, Any]:
    response = await client.get(f"{API}/runs/{run_id}")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def wait_for(
    client: AsyncClient, run_id: str, *statuses: str, timeout: float = 20
) -> dict[str, Any]:
    """The run once its status is one of `statuses` (default: finished). Following its events
    (one request that ends when the run ends or waits) spares the rate limit; a status in
    between (`running`) is polled."""
    wanted = statuses or FINISHED
    pause = 0.05  # growing to 1 s: a slow worker start must not spend the rate limit
    async with asyncio.timeout(timeout):
        while True:
            if set(wanted) <= {*FINISHED, "awaiting_input", "awaiting_approval"}:
                followed = await client.get(f"{API}/runs/{run_id}/events")
                assert followed.status_code == 200, followed.text
            run = await get_run(client, run_id)
            if run["status"] in wanted:
                return run
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 1.0)


def spans_by_name(trace: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for span in trace:
        found[span["name"]] = span
        found |= spans_by_name(span["children"])
    return found


async def team(
    owner: SignedIn, signed_in: Callable[[], Awaitable[SignedIn]]
) -> tuple[str, SignedIn, SignedIn]:
    """A project of `owner`'s with a viewer and an editor: (project id, viewer, editor)."""
    project = (await owner.browser.post(f"{API}/projects", json={"name": "Team"})).json()["id"]
    viewer, editor = await signed_in(), await signed_in()
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    return str(project), viewer, editor
