"""A saved canvas as the executor reads it: nodes, edges by end, and loop bodies.

A `loop_iterator`'s body is every node reached from the edges of its `body` handle without
passing through the loop itself; edges from the body back into the loop close it (they mark
each item's result) and are not part of any DAG. Bodies nest: a loop inside a body has its own.
A region is the set of nodes one scheduler runs: the canvas minus every loop body, or one
loop's body minus the bodies nested in it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from orbiter.workflows.nodes import REGISTRY, NodeType
from orbiter.workflows.nodes.logic import LOOP_BODY

LOOP = "loop_iterator"


@dataclass(frozen=True)
class Edge:
    id: str
    source: str
    target: str
    source_handle: str | None


@dataclass(frozen=True)
class Node:
    id: str
    type: NodeType
    data: dict[str, Any]


@dataclass
class Graph:
    nodes: dict[str, Node]
    edges: list[Edge]
    outgoing: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    incoming: dict[str, list[Edge]] = field(default_factory=lambda: defaultdict(list))
    bodies: dict[str, frozenset[str]] = field(default_factory=dict)  # loop id -> its body
    back_edges: dict[str, list[Edge]] = field(default_factory=dict)  # loop id -> closing edges

    @classmethod
    def from_canvas(cls, canvas: dict[str, Any]) -> Graph:
        nodes = {
            str(n["id"]): Node(str(n["id"]), REGISTRY[n["data"]["nodeType"]], dict(n["data"]))
            for n in canvas.get("nodes", [])
        }
        edges = [
            Edge(str(e["id"]), str(e["source"]), str(e["target"]), e.get("sourceHandle"))
            for e in canvas.get("edges", [])
        ]
        graph = cls(nodes, edges)
        for edge in edges:
            graph.outgoing[edge.source].append(edge)
            graph.incoming[edge.target].append(edge)
        for node in nodes.values():
            if node.type.name == LOOP:
                graph._find_body(node.id)
        return graph

    def _find_body(self, loop_id: str) -> None:
        body = body_of(loop_id, ((e.source, e.target, e.source_handle) for e in self.edges))
        self.bodies[loop_id] = body
        self.back_edges[loop_id] = [e for e in self.incoming[loop_id] if e.source in body]

    def top_region(self) -> frozenset[str]:
        inside = set().union(*self.bodies.values()) if self.bodies else set()
        return frozenset(self.nodes) - inside

    def body_region(self, loop_id: str) -> frozenset[str]:
        body = self.bodies[loop_id]
        nested = [self.bodies[n] for n in body if n in self.bodies]
        return body - frozenset().union(*nested) if nested else body

    def is_back_edge(self, edge: Edge) -> bool:
        return edge in self.back_edges.get(edge.target, ())


def body_of(loop_id: str, edges: Iterable[tuple[str, str, str | None]]) -> frozenset[str]:
    """The nodes a loop runs once per item: every node reached from its `body` handle without
    passing through the loop itself. `edges` are (source, target, source handle)."""
    outgoing: dict[str, list[str]] = defaultdict(list)
    stack: list[str] = []
    for source, target, handle in edges:
        outgoing[source].append(target)
        if source == loop_id and handle == LOOP_BODY:
            stack.append(target)
    seen: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id != loop_id and node_id not in seen:
            seen.add(node_id)
            stack.extend(outgoing[node_id])
    return frozenset(seen)
