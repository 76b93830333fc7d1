"""What a canvas must mean before it is saved, and its canonical form and content hash.

Every problem is collected and answered in one 422 (`details.fields`), each naming the node
or edge at fault by its position in `canvas.nodes` / `canvas.edges` and, in the message, by its
id: an unknown node type, settings out of range, a duplicate id, an edge to a missing node or
handle, a trigger with an incoming edge, not exactly one trigger, a cycle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from orbiter.core.errors import ValidationFailed
from orbiter.workflows.schemas import Canvas, CanvasEdge, CanvasNode

TRIGGERS = frozenset({"manual", "chat_input", "webhook", "schedule"})
# Node types with fixed output handles; the others accept any handle name (a switch's cases).
OUTPUT_HANDLES: dict[str, frozenset[str]] = {
    "conditional": frozenset({"output-true", "output-false"}),
}
NODE_TYPES = frozenset(
    {
        *TRIGGERS,
        "llm_call",
        "prompt_template",
        "agent_node",
        "function_tool",
        "http_request",
        "code_python",
        "conditional",
        "switch",
        "loop_iterator",
        "aggregator",
        "approval_gate",
        "variable_assigner",
        "template_jinja",
        "json_transform",
        "text_splitter",
        "knowledge_retrieval",
        "chat_response",
        "api_response",
    }
)


class NodeSettings(BaseModel):
    """What every node may set besides its type's own configuration."""

    model_config = ConfigDict(extra="allow")

    retry_count: int = Field(default=0, ge=0, le=5, strict=True)
    retry_delay_ms: int = Field(default=1000, ge=0, le=600_000, strict=True)
    on_error: Literal["fail", "skip", "fallback"] = "fail"
    timeout_ms: int | None = Field(default=None, ge=1, le=3_600_000, strict=True)

    @model_validator(mode="after")
    def _fallback_has_a_value(self) -> NodeSettings:
        extra = self.model_extra or {}
        if self.on_error == "fallback" and "fallback_value" not in extra:
            raise ValueError("on_error 'fallback' needs a fallback_value")
        return self


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    type: str

    def as_detail(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


def validate_canvas(canvas: Canvas) -> None:
    """Raise one `ValidationFailed` listing every problem of the canvas, or return."""
    problems = _node_problems(canvas.nodes)
    known = {node.id: node for node in canvas.nodes}
    problems += _edge_problems(canvas.edges, known)
    if not problems:  # a cycle is only worth finding in an otherwise sound graph
        problems += _cycle_problems(canvas.edges)
    if problems:
        first = problems[0].message
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"Invalid canvas: {first}{more}",
            details={"fields": [p.as_detail() for p in problems]},
        )


def _node_problems(nodes: list[CanvasNode]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    triggers = 0
    for index, node in enumerate(nodes):
        where = f"canvas.nodes.{index}"
        if node.id in seen:
            problems.append(Problem(f"{where}.id", f'Node "{node.id}": duplicate id', "duplicate"))
        seen.add(node.id)
        node_type = node.data.nodeType
        if node_type not in NODE_TYPES and node_type not in _registry():
            message = f'Node "{node.id}": unknown node type "{node_type}"'
            problems.append(Problem(f"{where}.data.nodeType", message, "unknown_node_type"))
        triggers += node_type in TRIGGERS
        problems += _settings_problems(node, where)
    if triggers != 1:
        message = f"A workflow needs exactly one trigger node ({', '.join(sorted(TRIGGERS))}); "
        message += f"this canvas has {triggers}"
        problems.append(Problem("canvas.nodes", message, "trigger_count"))
    return problems


def _settings_problems(node: CanvasNode, where: str) -> list[Problem]:
    try:
        NodeSettings.model_validate(node.data.model_dump())
    except ValidationError as exc:
        return [
            Problem(
                ".".join([f"{where}.data", *(str(p) for p in error["loc"])]),
                f'Node "{node.id}": {error["msg"]}',
                error["type"],
            )
            for error in exc.errors()
        ]
    return []


def _edge_problems(edges: list[CanvasEdge], nodes: dict[str, CanvasNode]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, edge in enumerate(edges):
        where = f"canvas.edges.{index}"
        if edge.id in seen:
            problems.append(Problem(f"{where}.id", f'Edge "{edge.id}": duplicate id', "duplicate"))
        seen.add(edge.id)
        for end in ("source", "target"):
            if getattr(edge, end) not in nodes:
                message = f'Edge "{edge.id}": {end} "{getattr(edge, end)}" is not a node'
                problems.append(Problem(f"{where}.{end}", message, "unknown_node"))
        source, target = nodes.get(edge.source), nodes.get(edge.target)
        if target is not None and target.data.nodeType in TRIGGERS:
            message = f'Edge "{edge.id}": trigger "{target.id}" cannot have an incoming edge'
            problems.append(Problem(f"{where}.target", message, "edge_into_trigger"))
        handles = OUTPUT_HANDLES.get(source.data.nodeType) if source is not None else None
        if handles is not None and edge.sourceHandle not in handles:
            message = f'Edge "{edge.id}": node "{edge.source}" has no output handle '
            message += f'"{edge.sourceHandle}" (one of {", ".join(sorted(handles))})'
            problems.append(Problem(f"{where}.sourceHandle", message, "unknown_handle"))
    return problems


def _cycle_problems(edges: list[CanvasEdge]) -> list[Problem]:
    graph: dict[str, set[str]] = {}
    for edge in edges:
        graph.setdefault(edge.target, set()).add(edge.source)
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle: list[str] = exc.args[1]
        closing = set(pairwise(cycle))
        index, edge = next((i, e) for i, e in enumerate(edges) if (e.source, e.target) in closing)
        message = f'Edge "{edge.id}" is part of a cycle: {" -> ".join(cycle)}'
        return [Problem(f"canvas.edges.{index}", message, "cycle")]
    return []


def canonical(canvas: dict[str, Any]) -> bytes:
    """Nodes and edges sorted by id, keys sorted, no whitespace; the viewport left out (panning
    the editor changes nothing)."""
    form = {
        "nodes": sorted(canvas.get("nodes", []), key=lambda n: str(n.get("id"))),
        "edges": sorted(canvas.get("edges", []), key=lambda e: str(e.get("id"))),
    }
    return json.dumps(form, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def content_hash(canvas: dict[str, Any]) -> str:
    return hashlib.sha256(canonical(canvas)).hexdigest()


def _registry() -> dict[str, object]:
    from orbiter.workflows.nodes import REGISTRY  # noqa: PLC0415  until validation reads it

    return dict(REGISTRY)
