"""The executor of `workflow` runs (registered with the run engine at import).

It reads the canvas of the version the run pinned and runs it as a DAG (`regions.Region`):
a node starts when every edge into it is decided; independent nodes run at the same time;
`conditional`/`switch` decide which edges carry their output and the nodes behind the others
are skipped (a node runs when at least one of its inputs arrived). Each attempt of a node is a
span of type `node`; `retry_count`, `retry_delay_ms` (doubling), `timeout_ms` and `on_error`
apply per node.

An `approval_gate` pauses the run (`awaiting_approval`, no worker held) once nothing else can
run; the decision comes back as `ctx.resume` and the run continues from its saved state.

The run's output: the `api_response` reached (`{status_code, body, headers}`), else the
`chat_response` reached (`{message}`), else `{node id: output}` of the nodes that end the flow.
"""

from __future__ import annotations

from typing import Any

from orbiter.core.db import transaction
from orbiter.core.errors import NotFound
from orbiter.runs.engine import AwaitApproval, RunContext, register_executor
from orbiter.workflows.graph import Graph
from orbiter.workflows.regions import Region, RunScope, SavedState
from orbiter.workflows.running import KIND, version_by_hash


async def run_workflow(ctx: RunContext) -> Any:
    graph = Graph.from_canvas(await _canvas(ctx))
    saved = SavedState.load(ctx.state)
    if ctx.resume is not None and saved.gate is not None:
        saved.decide(ctx.resume)
    ctx.state = saved.dump()  # kept current as nodes finish: a stopping worker hands it back
    scope = RunScope(ctx, graph, inputs=dict(ctx.input.get("inputs") or {}), saved=saved)
    region = Region(scope, graph.top_region(), saved=saved)
    await region.run()
    if region.waiting:
        gate = region.waiting[0]
        saved = region.snapshot(gate)
        ctx.state = saved.dump()
        raise AwaitApproval(scope.approval_request(gate))
    return region.run_output()


async def _canvas(ctx: RunContext) -> dict[str, Any]:
    if ctx.target_id is None or ctx.target_version is None:
        raise NotFound("The run names no workflow version")
    async with transaction(ctx.resources.sessionmaker) as db:
        version = await version_by_hash(db, ctx.target_id, ctx.target_version)
    if version is None:
        raise NotFound("The workflow was deleted")
    return dict(version.canvas)


register_executor(KIND, run_workflow)
