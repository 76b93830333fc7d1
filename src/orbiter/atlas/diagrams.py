"""Diagrams built from the atlas graph, stored with their Mermaid text.

* component: systems as groups holding their modules, and the imports between those modules
  (under a concept: the concept's own modules).
* dependency: which systems import which systems and external packages, with the number of
  imports (under a concept: its modules, what they import and what imports them).
* flow: the chain of imports from a module (or a system's modules; without a concept, from
  the modules nothing imports), breadth first, a few levels deep.
* sequence: the same walk as messages between modules, each labelled with the names imported.
"""

from __future__ import annotations

import uuid
from collections import Counter, deque
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from orbiter.atlas.mermaid import render
from orbiter.atlas.schemas import (
    DiagramCreate,
    DiagramEdge,
    DiagramEnvelope,
    DiagramNode,
    DiagramRead,
)
from orbiter.core.errors import BadRequest, NotFound
from orbiter.core.pagination import CursorCodec, PageInfo, PageParams, paginate
from orbiter.models import AtlasConcept, AtlasDiagram, AtlasEdge, Role
from orbiter.tenancy.access import load_project

MAX_NODES = 80
FLOW_DEPTH = 4
MAX_GRAPH_ROWS = 20000


@dataclass
class Loaded:
    concepts: dict[uuid.UUID, AtlasConcept]
    imports: dict[uuid.UUID, list[AtlasEdge]] = field(default_factory=dict)
    imported_by: dict[uuid.UUID, list[AtlasEdge]] = field(default_factory=dict)
    children: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)

    def module_of(self, concept: AtlasConcept) -> AtlasConcept:
        while concept.layer not in ("module", "system", "external") and concept.parent_id:
            concept = self.concepts[concept.parent_id]
        return concept

    def modules_under(self, concept: AtlasConcept) -> list[AtlasConcept]:
        if concept.layer == "system":
            found = [self.concepts[c] for c in self.children.get(concept.id, [])]
            return sorted(found, key=lambda m: m.name)
        return [self.module_of(concept)]

    def system_of(self, module: AtlasConcept) -> AtlasConcept:
        return self.concepts[module.parent_id] if module.parent_id else module


async def _load(db: AsyncSession, project_id: uuid.UUID) -> Loaded:
    concepts = await db.scalars(
        select(AtlasConcept)
        .where(AtlasConcept.project_id == project_id, AtlasConcept.layer != "function")
        .limit(MAX_GRAPH_ROWS)
    )
    loaded = Loaded({c.id: c for c in concepts})
    edges = await db.scalars(
        select(AtlasEdge).where(AtlasEdge.project_id == project_id).limit(MAX_GRAPH_ROWS * 2)
    )
    for edge in edges:
        if edge.source_id not in loaded.concepts or edge.target_id not in loaded.concepts:
            continue
        if edge.kind == "imports":
            loaded.imports.setdefault(edge.source_id, []).append(edge)
            loaded.imported_by.setdefault(edge.target_id, []).append(edge)
        elif loaded.concepts[edge.target_id].layer == "module":
            loaded.children.setdefault(edge.source_id, []).append(edge.target_id)
    return loaded


def _node(concept: AtlasConcept, group: str | None = None) -> DiagramNode:
    return DiagramNode(id=str(concept.id), label=concept.name, layer=concept.layer, group=group)


def _component(
    graph: Loaded, focus: AtlasConcept | None
) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    modules = (
        graph.modules_under(focus)
        if focus is not None
        else sorted(
            (c for c in graph.concepts.values() if c.layer == "module"),
            key=lambda m: (graph.system_of(m).name, m.name),
        )
    )[:MAX_NODES]
    ids = {m.id for m in modules}
    nodes = [_node(m, graph.system_of(m).name) for m in modules]
    edges = [
        DiagramEdge(source=str(e.source_id), target=str(e.target_id), label=e.label)
        for m in modules
        for e in graph.imports.get(m.id, [])
        if e.target_id in ids
    ]
    return nodes, edges


def _dependency(
    graph: Loaded, focus: AtlasConcept | None
) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    if focus is None:
        counts: Counter[tuple[uuid.UUID, uuid.UUID]] = Counter()
        for source_id, outgoing in graph.imports.items():
            source = graph.system_of(graph.concepts[source_id])
            for edge in outgoing:
                target = graph.concepts[edge.target_id]
                target = target if target.layer == "external" else graph.system_of(target)
                if target.id != source.id:
                    counts[(source.id, target.id)] += 1
        used = list(dict.fromkeys(i for pair in sorted(counts) for i in pair))[:MAX_NODES]
        nodes = [_node(graph.concepts[i]) for i in used]
        edges = [
            DiagramEdge(source=str(s), target=str(t), label=f"{n} import{'s' if n > 1 else ''}")
            for (s, t), n in sorted(counts.items(), key=lambda item: (-item[1], str(item[0])))
            if s in used and t in used
        ]
        return nodes, edges
    modules = graph.modules_under(focus)
    around = [
        e for m in modules for e in (*graph.imports.get(m.id, []), *graph.imported_by.get(m.id, []))
    ]
    used = list(
        dict.fromkeys(
            [m.id for m in modules] + [i for e in around for i in (e.source_id, e.target_id)]
        )
    )
    used = used[:MAX_NODES]
    nodes = [_node(graph.concepts[i]) for i in used]
    edges = [
        DiagramEdge(source=str(e.source_id), target=str(e.target_id), label=e.label)
        for e in dict.fromkeys(around)
        if e.source_id in used and e.target_id in used
    ]
    return nodes, edges


def _walk(graph: Loaded, focus: AtlasConcept | None) -> tuple[list[DiagramNode], list[DiagramEdge]]:
    """Breadth first along internal imports from the starting modules."""
    if focus is not None:
        starts = graph.modules_under(focus)
    else:
        modules = [c for c in graph.concepts.values() if c.layer == "module"]
        starts = sorted(
            (m for m in modules if not graph.imported_by.get(m.id)), key=lambda m: m.name
        )
    seen = {m.id: 0 for m in starts[:MAX_NODES]}
    queue = deque(seen)
    edges: list[DiagramEdge] = []
    while queue:
        current = queue.popleft()
        if seen[current] >= FLOW_DEPTH:
            continue
        for edge in graph.imports.get(current, []):
            if graph.concepts[edge.target_id].layer != "module":
                continue
            if edge.target_id not in seen:
                if len(seen) >= MAX_NODES:
                    continue
                seen[edge.target_id] = seen[current] + 1
                queue.append(edge.target_id)
            edges.append(
                DiagramEdge(source=str(current), target=str(edge.target_id), label=edge.label)
            )
    return [_node(graph.concepts[i]) for i in seen], edges


BUILDERS = {"component": _component, "dependency": _dependency, "flow": _walk, "sequence": _walk}


def diagram_read(row: AtlasDiagram) -> DiagramRead:
    return DiagramRead.model_validate(row, from_attributes=True)


async def create_diagram(
    db: AsyncSession, *, user_id: uuid.UUID, project_id: uuid.UUID, body: DiagramCreate
) -> DiagramEnvelope:
    """Build the diagram from the current atlas and store it (editors only)."""
    project, _ = await load_project(
        db, user_id=user_id, project_id=project_id, min_role=Role.EDITOR
    )
    graph = await _load(db, project_id)
    if not graph.concepts:
        raise BadRequest("The atlas is empty; build it first with POST .../atlas/index")
    focus = None
    if body.concept_id is not None:
        focus = graph.concepts.get(body.concept_id) or await db.get(AtlasConcept, body.concept_id)
        if focus is None or focus.project_id != project_id:
            raise NotFound("Concept not found", details={"concept_id": str(body.concept_id)})
    nodes, edges = BUILDERS[body.type](graph, focus)
    subject = focus.name if focus is not None else project.name
    row = AtlasDiagram(
        project_id=project_id,
        concept_id=body.concept_id,
        type=body.type,
        title=f"{body.type.capitalize()} diagram of {subject}"[:300],
        nodes=[n.model_dump() for n in nodes],
        edges=[e.model_dump() for e in edges],
        mermaid=render(body.type, nodes, edges),
        created_by=user_id,
    )
    db.add(row)
    await db.flush()
    return DiagramEnvelope(diagram=diagram_read(row))


async def list_diagrams(
    db: AsyncSession,
    *,
    user_id: uuid.UUID,
    project_id: uuid.UUID,
    params: PageParams,
    codec: CursorCodec,
) -> tuple[list[DiagramRead], PageInfo]:
    await load_project(db, user_id=user_id, project_id=project_id)
    stmt = select(AtlasDiagram).where(AtlasDiagram.project_id == project_id)
    rows, info = await paginate(
        db, stmt, order=[AtlasDiagram.created_at, AtlasDiagram.id], params=params, codec=codec
    )
    return [diagram_read(row[0]) for row in rows], info
