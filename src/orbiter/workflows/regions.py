"""Running a set of nodes as a DAG: the whole canvas minus loop bodies, or one loop body per
item. See `executor` for the rules."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from orbiter.runs.engine import RunContext
from orbiter.workflows.attempts import WAITING, run_node
from orbiter.workflows.graph import LOOP, Edge, Graph, Node
from orbiter.workflows.nodes.base import NodeError, Routed
from orbiter.workflows.nodes.logic import LOOP_BODY, LOOP_DONE
from orbiter.workflows.state import SavedState
from orbiter.workflows.templates import render, render_text

__all__ = ["Region", "RunScope", "SavedState"]

GATE = "approval_gate"
DEFAULT_ASK = "Approve to continue"


@dataclass
class RunScope:
    """What every region of one run shares: the run, the canvas, inputs, vars, decisions."""

    ctx: RunContext
    graph: Graph
    inputs: dict[str, Any]
    saved: SavedState

    @property
    def vars(self) -> dict[str, Any]:
        return self.saved.vars

    def approval_request(self, gate: Node) -> dict[str, Any]:
        asked = self.saved.asked.get(gate.id, {})
        return {
            "node_id": gate.id,
            "label": gate.data.get("label"),
            "message": asked.get("message"),
            "payload": asked.get("payload"),
        }


@dataclass
class Region:
    scope: RunScope
    members: frozenset[str]
    saved: SavedState | None = None  # the top region's results live in the run's state
    parent: Region | None = None
    loop_values: dict[str, Any] = field(default_factory=dict)  # item, index
    entry: dict[str, Any] = field(default_factory=dict)  # edge id -> value (a loop's item)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    edges: dict[str, bool] = field(default_factory=dict)
    waiting: list[Node] = field(default_factory=list)
    _input_edges: dict[str, list[Edge]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.saved is not None:
            self.results = self.saved.results
            self.edges = self.saved.edges
        for edge_id in self.entry:
            self.edges[edge_id] = True

    # ------------------------------------------------------------ the schedule

    async def run(self) -> None:
        running: dict[asyncio.Task[Any], Node] = {}
        candidates = set(self.members)  # after a start, only a finished node's successors
        try:
            while True:
                for node in self._ready(candidates, running):
                    running[asyncio.create_task(self._start(node))] = node
                if not running:
                    return
                done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                candidates = set()
                for task in done:
                    node = running.pop(task)
                    self._finish(node, task.result())
                    candidates |= self._successors(node.id)
        finally:
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    def _ready(self, candidates: set[str], running: Mapping[asyncio.Task[Any], Node]) -> list[Node]:
        """The candidates whose every input is decided; those none of whose inputs carried
        anything are skipped, and their successors looked at in turn."""
        busy = {node.id for node in running.values()} | {node.id for node in self.waiting}
        ready: list[Node] = []
        while candidates:
            node_id = candidates.pop()
            if node_id in self.results or node_id in busy:
                continue
            edges = self._inputs(node_id)
            if any(edge.id not in self.edges for edge in edges):
                continue
            if edges and not any(self.edges[edge.id] for edge in edges):
                self._skip(self.scope.graph.nodes[node_id])  # no branch leads here
                candidates |= self._successors(node_id)
                continue
            busy.add(node_id)
            ready.append(self.scope.graph.nodes[node_id])
        return ready

    def _successors(self, node_id: str) -> set[str]:
        return {e.target for e in self.scope.graph.outgoing[node_id] if e.target in self.members}

    def _inputs(self, node_id: str) -> list[Edge]:
        found = self._input_edges.get(node_id)
        if found is None:
            graph = self.scope.graph
            found = [
                edge
                for edge in graph.incoming[node_id]
                if not graph.is_back_edge(edge)
                and (edge.source in self.members or edge.id in self.entry)
            ]
            self._input_edges[node_id] = found
        return found

    def _skip(self, node: Node) -> None:
        self.results[node.id] = {"output": None, "status": "skipped"}
        for edge in self.scope.graph.outgoing[node.id]:
            self.edges[edge.id] = False

    def _finish(self, node: Node, outcome: Any) -> None:
        if outcome is WAITING:
            self.waiting.append(node)
            return
        output, handles = (
            (outcome.output, outcome.handles) if isinstance(outcome, Routed) else (outcome, None)
        )
        self.results[node.id] = {"output": output, "status": "done"}
        for edge in self.scope.graph.outgoing[node.id]:
            self.edges[edge.id] = handles is None or (edge.source_handle or "") in handles

    # ------------------------------------------------------------ one node

    async def _start(self, node: Node) -> Any:
        arrived = self._arrived(node.id)
        if node.type.is_trigger:
            value: Any = dict(self.scope.inputs)
        elif len(arrived) == 1:
            value = next(iter(arrived.values()))
        else:
            value = arrived
        variables = self.variables(value, arrived)
        if node.type.name == GATE:
            return await run_node(
                self.scope.ctx, node, value, variables, lambda _call: self._gate(node, variables)
            )
        if node.type.name == LOOP:
            return await run_node(
                self.scope.ctx, node, value, variables, lambda call: self._loop(node, call)
            )
        outcome = await run_node(self.scope.ctx, node, value, variables, None)
        if node.type.name == "variable_assigner" and isinstance(outcome, dict):
            self.scope.vars.update(outcome)
        return outcome

    def _arrived(self, node_id: str) -> dict[str, Any]:
        arrived: dict[str, Any] = {}
        for edge in self._inputs(node_id):
            if not self.edges.get(edge.id):
                continue
            if edge.id in self.entry:
                arrived[edge.source] = self.entry[edge.id]
            else:  # an input edge's source is a member: its result is this region's
                arrived[edge.source] = self.results[edge.source]["output"]
        return arrived

    def variables(self, value: Any, arrived: dict[str, Any]) -> dict[str, Any]:
        chain: list[Region] = []
        region: Region | None = self
        while region is not None:
            chain.append(region)
            region = region.parent
        nodes: dict[str, Any] = {}
        loop_values: dict[str, Any] = {}
        for region in reversed(chain):  # inner results and loop values win
            nodes.update(region.results)
            loop_values.update(region.loop_values)
        variables: dict[str, Any] = {k: v for k, v in nodes.items() if k.isidentifier()}
        variables.update(
            nodes=nodes,
            inputs=self.scope.inputs,
            vars=self.scope.vars,
            input=value,
            arrived=arrived,
            **loop_values,
        )
        return variables

    # ------------------------------------------------------------ gates and loops

    async def _gate(self, node: Node, variables: dict[str, Any]) -> Any:
        if self.saved is None:
            raise NodeError("An approval gate inside a loop is not supported", "UNSUPPORTED")
        saved = self.scope.saved
        decision = saved.decisions.get(node.id)
        if decision is not None:
            edited = decision.get("payload")
            return edited if edited is not None else saved.asked.get(node.id, {}).get("payload")
        saved.asked[node.id] = {
            "payload": render(node.data.get("payload", "{{ input }}"), variables),
            "message": render_text(str(node.data.get("message", DEFAULT_ASK)), variables),
        }
        return WAITING

    async def _loop(self, node: Node, call: Any) -> Routed:
        items = call.config.items
        if not isinstance(items, list):
            raise NodeError(
                f"loop_iterator needs a list to iterate over, got {type(items).__name__}"
            )
        if len(items) > call.config.max_items:
            raise NodeError(f"{len(items)} items is more than max_items ({call.config.max_items})")
        graph = self.scope.graph
        body = graph.body_region(node.id)
        entry_edges = [e for e in graph.outgoing[node.id] if e.source_handle == LOOP_BODY]
        limit = asyncio.Semaphore(call.config.concurrency)

        async def one(index: int, item: Any) -> Any:
            async with limit:
                region = Region(
                    self.scope,
                    body,
                    parent=self,
                    loop_values={"item": item, "index": index},
                    entry={edge.id: item for edge in entry_edges},
                )
                await region.run()
                return region.iteration_result(node.id)

        results = await asyncio.gather(*(one(i, item) for i, item in enumerate(items)))
        return Routed(list(results), frozenset({LOOP_DONE}))

    def iteration_result(self, loop_id: str) -> Any:
        closing = [e.source for e in self.scope.graph.back_edges.get(loop_id, [])]
        ends = closing or [
            n
            for n in self.members
            if not any(e.target in self.members for e in self.scope.graph.outgoing[n])
        ]
        values = {n: self.results.get(n, {}).get("output") for n in ends}
        return next(iter(values.values())) if len(values) == 1 else values

    # ------------------------------------------------------------ the run's output

    def snapshot(self, gate: Node) -> SavedState:
        saved = self.scope.saved
        saved.gate = gate.id
        return saved

    def run_output(self) -> Any:
        graph = self.scope.graph
        for kind in ("api_response", "chat_response"):
            for node_id, result in self.results.items():
                node = graph.nodes.get(node_id)
                if node is not None and node.type.name == kind and result.get("status") == "done":
                    return result.get("output")
        ends = [
            n
            for n in self.members
            if not graph.outgoing[n] and self.results.get(n, {}).get("status") == "done"
        ]
        return {n: self.results[n].get("output") for n in sorted(ends)}
