"""What a canvas must mean before it is saved, and its canonical form and content hash.

Node types come from the registry (`orbiter.workflows.nodes.REGISTRY`), the same one
`GET /workflows/node-types` lists and the executor runs. Every problem is collected and
answered in one 422 (`details.fields`), each naming the node or edge at fault by its position
in `canvas.nodes` / `canvas.edges` and, in the message, by its id: an unknown node type, a
config its type's model refuses, common settings out of range, a duplicate id, not exactly one
trigger, an edge to a missing node or handle or into a trigger, a loop body entered or left
other than through its loop, a cycle (except a loop body closing on its loop). A template where
a config field wants another type is left for the run to judge once rendered.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from itertools import pairwise
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import ErrorDetails

from orbiter.core.errors import ValidationFailed
from orbiter.workflows.nodes import REGISTRY, NodeType
from orbiter.workflows.nodes.logic import LOOP_BODY
from orbiter.workflows.schemas import Canvas, CanvasEdge, CanvasNode

LOOP = "loop_iterator"
LOOP_RETURN = "loop"  # the loop_iterator's input handle for the edges closing its body
EDITOR_KEYS = frozenset({"nodeType", "label"})
TEMPLATE = re.compile(r"\{\{|\{%")


FALLBACK_VALUE = "fallback_value"


def _document_fallback(schema: dict[str, Any]) -> None:
    schema["properties"][FALLBACK_VALUE] = {
        "title": "Fallback Value",
        "description": "The node's output when it failed (`on_error: fallback`); required then",
    }


class NodeSettings(BaseModel):
    """What every node may set besides its type's own configuration. `fallback_value` is kept
    among the extra keys (`model_extra`): its being sent at all is what counts."""

    model_config = ConfigDict(extra="allow", json_schema_extra=_document_fallback)

    retry_count: int = Field(
        default=0, ge=0, le=5, strict=True, description="Attempts after the first failure"
    )
    retry_delay_ms: int = Field(
        default=1000,
        ge=0,
        le=600_000,
        strict=True,
        description="Wait before the first retry; doubled before each next one",
    )
    on_error: Literal["fail", "skip", "fallback"] = Field(
        default="fail",
        description="When the last attempt failed: fail the run, skip the node (and what only "
        "it feeds), or output `fallback_value`",
    )
    timeout_ms: int | None = Field(
        default=None, ge=1, le=3_600_000, strict=True, description="Limit of one attempt"
    )

    @model_validator(mode="after")
    def _fallback_has_a_value(self) -> NodeSettings:
        if self.on_error == "fallback" and FALLBACK_VALUE not in (self.model_extra or {}):
            raise ValueError("on_error 'fallback' needs a fallback_value")
        return self


NOT_CONFIG = EDITOR_KEYS | frozenset({*NodeSettings.model_fields, FALLBACK_VALUE})


@dataclass(frozen=True)
class Problem:
    field: str
    message: str
    type: str

    def as_detail(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message, "type": self.type}


@dataclass
class Checked:
    """What the node checks learned that the edge checks need."""

    nodes: dict[str, CanvasNode]
    types: dict[str, NodeType]  # node id -> its type, when the type is known
    handles: dict[str, tuple[str, ...]]  # node id -> output handles, when its config is valid


def validate_canvas(canvas: Canvas) -> None:
    """Raise one `ValidationFailed` listing every problem of the canvas, or return."""
    problems, checked = _node_problems(canvas.nodes)
    problems += _edge_problems(canvas.edges, checked)
    known = [
        (index, edge)
        for index, edge in enumerate(canvas.edges)
        if edge.source in checked.nodes and edge.target in checked.nodes
    ]
    body_problems, closing = _loop_problems(known, checked)
    problems += body_problems
    if not problems:  # a cycle is only worth finding in an otherwise sound graph
        problems += _cycle_problems(canvas.edges, closing)
    if problems:
        first = problems[0].message
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise ValidationFailed(
            f"Invalid canvas: {first}{more}",
            details={"fields": [p.as_detail() for p in problems]},
        )


# ---------------------------------------------------------------- nodes


def _node_problems(nodes: list[CanvasNode]) -> tuple[list[Problem], Checked]:
    problems: list[Problem] = []
    checked = Checked({}, {}, {})
    triggers = 0
    for index, node in enumerate(nodes):
        where = f"canvas.nodes.{index}"
        if node.id in checked.nodes:
            problems.append(Problem(f"{where}.id", f'Node "{node.id}": duplicate id', "duplicate"))
        checked.nodes[node.id] = node
        data = node.data.model_dump()
        problems += _settings_problems(data, node.id, where)
        node_type = REGISTRY.get(node.data.nodeType)
        if node_type is None:
            message = f'Node "{node.id}": unknown node type "{node.data.nodeType}"'
            problems.append(Problem(f"{where}.data.nodeType", message, "unknown_node_type"))
            continue
        checked.types[node.id] = node_type
        triggers += node_type.is_trigger
        own = {key: value for key, value in data.items() if key not in NOT_CONFIG}
        problems += _config_problems(node_type, own, node.id, where, checked)
    if triggers != 1:
        names = ", ".join(sorted(t.name for t in REGISTRY.values() if t.is_trigger))
        message = f"A workflow needs exactly one trigger node ({names}); "
        message += f"this canvas has {triggers}"
        problems.append(Problem("canvas.nodes", message, "trigger_count"))
    return problems, checked


def _settings_problems(data: dict[str, Any], node_id: str, where: str) -> list[Problem]:
    try:
        NodeSettings.model_validate(data)
    except ValidationError as exc:
        return _problems(exc.errors(), node_id, where)
    return []


def _config_problems(
    node_type: NodeType, own: dict[str, Any], node_id: str, where: str, checked: Checked
) -> list[Problem]:
    """The node's config checked by its type's model; the output handles it gives when it
    passes (unknown when a template decides part of it)."""
    try:
        config = node_type.config.model_validate(own)
    except ValidationError as exc:
        errors = [e for e in exc.errors() if not _rendered_later(e, node_type)]
        return _problems(errors, node_id, where)
    checked.handles[node_id] = node_type.output_handles(config)
    return []


def _rendered_later(error: ErrorDetails, node_type: NodeType) -> bool:
    """A template (`{{ inputs.limit }}`) where the model wants a number, a list...: the field
    is rendered before the model checks it at run time, so only then can it be judged. Fields
    the type keeps as written (`raw_fields`) and over-long text are judged now."""
    value, loc = error.get("input"), error["loc"]
    return (
        isinstance(value, str)
        and TEMPLATE.search(value) is not None
        and bool(loc)
        and loc[0] not in node_type.raw_fields
        and error["type"] != "string_too_long"
    )


def _problems(errors: list[ErrorDetails], node_id: str, where: str) -> list[Problem]:
    """Pydantic's errors on a node's `data`, each named `<where>.data.<field>`."""
    problems = []
    for error in errors:
        loc = ".".join(str(part) for part in error["loc"])
        field = f"{where}.data" + (f".{loc}" if loc else "")
        message = f'Node "{node_id}": ' + (f"{loc}: " if loc else "") + error["msg"]
        problems.append(Problem(field, message, error["type"]))
    return problems


# ---------------------------------------------------------------- edges


def _edge_problems(edges: list[CanvasEdge], checked: Checked) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, edge in enumerate(edges):
        where = f"canvas.edges.{index}"
        if edge.id in seen:
            problems.append(Problem(f"{where}.id", f'Edge "{edge.id}": duplicate id', "duplicate"))
        seen.add(edge.id)
        for end in ("source", "target"):
            if getattr(edge, end) not in checked.nodes:
                message = f'Edge "{edge.id}": {end} "{getattr(edge, end)}" is not a node'
                problems.append(Problem(f"{where}.{end}", message, "unknown_node"))
        problems += _source_handle_problems(edge, where, checked)
        problems += _target_problems(edge, where, checked)
    return problems


def _source_handle_problems(edge: CanvasEdge, where: str, checked: Checked) -> list[Problem]:
    handles = checked.handles.get(edge.source)
    if handles is None:  # an unknown node, type or config: already said
        return []
    if not handles:
        kind = checked.types[edge.source].name
        message = f'Edge "{edge.id}": node "{edge.source}" ({kind}) has no outputs'
        return [Problem(f"{where}.source", message, "no_outputs")]
    if edge.sourceHandle in handles or (edge.sourceHandle is None and len(handles) == 1):
        return []
    named = f'"{edge.sourceHandle}"' if edge.sourceHandle is not None else "(none given)"
    message = f'Edge "{edge.id}": node "{edge.source}" has no output handle {named} '
    message += f"(one of {', '.join(handles)})"
    return [Problem(f"{where}.sourceHandle", message, "unknown_handle")]


def _target_problems(edge: CanvasEdge, where: str, checked: Checked) -> list[Problem]:
    target = checked.types.get(edge.target)
    if target is None:
        return []
    if target.is_trigger:
        message = f'Edge "{edge.id}": trigger "{edge.target}" cannot have an incoming edge'
        return [Problem(f"{where}.target", message, "edge_into_trigger")]
    if edge.targetHandle is not None and edge.targetHandle not in target.inputs:
        message = f'Edge "{edge.id}": node "{edge.target}" has no input handle '
        message += f'"{edge.targetHandle}" (one of {", ".join(target.inputs)})'
        return [Problem(f"{where}.targetHandle", message, "unknown_handle")]
    return []


# ---------------------------------------------------------------- loop bodies

Indexed = list[tuple[int, CanvasEdge]]  # edges between existing nodes, by place in the canvas


def loop_body(loop_id: str, edges: list[CanvasEdge]) -> frozenset[str]:
    """The nodes a loop runs once per item: every node reached from its `body` handle without
    passing through the loop itself."""
    outgoing: dict[str, list[str]] = defaultdict(list)
    for edge in edges:
        outgoing[edge.source].append(edge.target)
    stack = [e.target for e in edges if e.source == loop_id and e.sourceHandle == LOOP_BODY]
    seen: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id != loop_id and node_id not in seen:
            seen.add(node_id)
            stack.extend(outgoing[node_id])
    return frozenset(seen)


def _loop_problems(edges: Indexed, checked: Checked) -> tuple[list[Problem], set[str]]:
    """Problems of each loop's body, and the ids of the edges closing a body on its loop
    (they mark each item's result: not part of the graph's order, so not a cycle)."""
    problems: list[Problem] = []
    closing: set[str] = set()
    loops = [node_id for node_id, t in checked.types.items() if t.name == LOOP]
    for loop_id in loops:
        body = loop_body(loop_id, [edge for _, edge in edges])
        returns = [(i, e) for i, e in edges if e.source in body and e.target == loop_id]
        closing |= {edge.id for _, edge in returns}
        problems += _body_problems(loop_id, body, edges)
        problems += _return_handle_problems(loop_id, edges, returns)
    return problems, closing


def _body_problems(loop_id: str, body: frozenset[str], edges: Indexed) -> list[Problem]:
    """A node of the body that an edge from outside also feeds is claimed by both sides: the
    body's edges into it leave the body (or, when none do, the outside edges enter it)."""
    into: dict[str, Indexed] = defaultdict(list)
    for index, edge in edges:
        if edge.target in body:
            into[edge.target].append((index, edge))
    problems: list[Problem] = []
    for node_id, incoming in into.items():
        outside = [
            (i, e)
            for i, e in incoming
            if e.source not in body and not (e.source == loop_id and e.sourceHandle == LOOP_BODY)
        ]
        inside = [(i, e) for i, e in incoming if e.source in body]
        if not outside:
            continue
        for index, edge in inside:
            message = f'Edge "{edge.id}" leaves the body of loop "{loop_id}" for "{node_id}", '
            message += f'which is fed from outside the body too ("{outside[0][1].id}"): '
            message += 'results leave a loop through its "done" handle'
            problems.append(Problem(f"canvas.edges.{index}", message, "leaves_loop_body"))
        for index, edge in () if inside else outside:
            message = f'Edge "{edge.id}" enters the body of loop "{loop_id}" at "{node_id}" '
            message += f'from outside it: a body starts at the loop\'s "{LOOP_BODY}" handle '
            message += "(read other nodes' outputs with `{{ node_id.output }}`)"
            problems.append(Problem(f"canvas.edges.{index}", message, "enters_loop_body"))
    return problems


def _return_handle_problems(loop_id: str, edges: Indexed, returns: Indexed) -> list[Problem]:
    """The edges closing the body enter the loop's `loop` handle (or name none); no other."""
    problems: list[Problem] = []
    closing = {edge.id for _, edge in returns}
    for index, edge in edges:
        if edge.target != loop_id:
            continue
        if edge.id in closing and edge.targetHandle not in (None, LOOP_RETURN):
            message = f'Edge "{edge.id}" closes the body of loop "{loop_id}": it enters the '
            message += f'"{LOOP_RETURN}" handle'
        elif edge.id not in closing and edge.targetHandle == LOOP_RETURN:
            message = f'Edge "{edge.id}": the "{LOOP_RETURN}" handle of loop "{loop_id}" takes '
            message += "only the edges closing its body (from nodes behind its "
            message += f'"{LOOP_BODY}" handle)'
        else:
            continue
        problems.append(Problem(f"canvas.edges.{index}.targetHandle", message, "loop_handle"))
    return problems


# ---------------------------------------------------------------- cycles


def _cycle_problems(edges: list[CanvasEdge], closing: set[str]) -> list[Problem]:
    graph: dict[str, set[str]] = {}
    for edge in edges:
        if edge.id not in closing:
            graph.setdefault(edge.target, set()).add(edge.source)
    try:
        TopologicalSorter(graph).prepare()
    except CycleError as exc:
        cycle: list[str] = exc.args[1]
        steps = set(pairwise(cycle))
        index, edge = next(
            (i, e)
            for i, e in enumerate(edges)
            if (e.source, e.target) in steps and e.id not in closing
        )
        message = f'Edge "{edge.id}" is part of a cycle: {" -> ".join(cycle)}'
        return [Problem(f"canvas.edges.{index}", message, "cycle")]
    return []


# ---------------------------------------------------------------- canonical form


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
