"""Mermaid text for a diagram's nodes and edges: a flowchart (with one subgraph per group) or,
for `sequence`, a sequence diagram whose messages follow the edges in order."""

from __future__ import annotations

from orbiter.atlas.schemas import DiagramEdge, DiagramNode

SHAPES = {"external": ("[(", ")]"), "system": ("[[", "]]"), "class": ("{{", "}}")}


def _label(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", " ") + '"'


def _edge_label(text: str) -> str:
    return text.replace("|", "/").replace('"', "#quot;").replace("\n", " ")[:80]


def render(kind: str, nodes: list[DiagramNode], edges: list[DiagramEdge]) -> str:
    alias = {node.id: f"n{i}" for i, node in enumerate(nodes)}
    if kind == "sequence":
        return _sequence(nodes, edges, alias)
    lines = ["flowchart LR" if kind != "component" else "flowchart TB"]
    groups: dict[str | None, list[DiagramNode]] = {}
    for node in nodes:
        groups.setdefault(node.group, []).append(node)
    for number, (group, members) in enumerate(groups.items()):
        indent = "  "
        if group is not None:
            lines.append(f"  subgraph g{number}[{_label(group)}]")
            indent = "    "
        for node in members:
            start, end = SHAPES.get(node.layer, ("[", "]"))
            lines.append(f"{indent}{alias[node.id]}{start}{_label(node.label)}{end}")
        if group is not None:
            lines.append("  end")
    for edge in edges:
        label = f"|{_label(_edge_label(edge.label))}|" if edge.label else ""
        lines.append(f"  {alias[edge.source]} -->{label} {alias[edge.target]}")
    return "\n".join(lines) + "\n"


def _sequence(nodes: list[DiagramNode], edges: list[DiagramEdge], alias: dict[str, str]) -> str:
    lines = ["sequenceDiagram"]
    for node in nodes:
        lines.append(f"  participant {alias[node.id]} as {node.label.replace(';', ',')}")
    for edge in edges:
        message = _edge_label(edge.label or "uses").replace(";", ",").replace("#quot;", "'")
        lines.append(f"  {alias[edge.source]}->>{alias[edge.target]}: {message}")
    return "\n".join(lines) + "\n"
