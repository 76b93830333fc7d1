"""Running workflows in tests: start a run over HTTP and wait until it ends."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.helpers import API
from tests.runs.util import spans_by_name, wait_for
from tests.workflows.util import make_workflow


async def start(client: AsyncClient, workflow_id: str, **inputs: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/workflows/{workflow_id}/run", json={"inputs": inputs})
    assert response.status_code == 202, response.text
    run: dict[str, Any] = response.json()
    return run


async def run_canvas(
    client: AsyncClient, canvas: dict[str, Any], *statuses: str, **inputs: Any
) -> dict[str, Any]:
    """Save `canvas` as a workflow, run it with `inputs`, and return the run once it ended (or
    reached one of `statuses`), with its trace."""
    workflow = await make_workflow(client, canvas=canvas)
    run = await start(client, workflow["id"], **inputs)
    return await wait_for(client, run["id"], *statuses)


def node_spans(run: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The run's node spans by name (`<node id> (<type>)`, later attempts `... attempt N`)."""
    return {
        name: span for name, span in spans_by_name(run["trace"]).items() if span["type"] == "node"
    }
