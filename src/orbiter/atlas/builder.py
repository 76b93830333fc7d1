"""The atlas graph of one snapshot: systems (top-level folders; the folder below a container
such as `src/` or `packages/`), modules (files), code concepts (classes, functions, types)
and external packages; `contains` edges down that tree and `imports` edges between modules
and to packages."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from orbiter.atlas.parsers import ParsedModule
from orbiter.atlas.resolve import External, Resolver

CONTAINERS = frozenset({"src", "lib", "packages", "apps", "services", "cmd", "internal", "pkg"})
ROOT_SYSTEM = "."
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def system_of(path: str) -> str:
    parts = path.split("/")[:-1]
    if not parts:
        return ROOT_SYSTEM
    if parts[0] in CONTAINERS and len(parts) > 1:
        return "/".join(parts[:2])
    return parts[0]


def search_text(*texts: str | None) -> str:
    """Lower-case words of names, paths and prose: `OrderStore.get_by_id` gives
    `order store get by id` (and the original words too)."""
    words: list[str] = []
    for text in texts:
        for token in re.split(r"[^A-Za-z0-9]+", text or ""):
            if token:
                words.append(token.lower())
                words.extend(w.lower() for w in _WORDS.findall(token))
    return " ".join(dict.fromkeys(words))


@dataclass
class Graph:
    project_id: uuid.UUID
    concepts: list[dict[str, Any]] = field(default_factory=list)
    edges: dict[tuple[uuid.UUID, uuid.UUID, str], dict[str, Any]] = field(default_factory=dict)
    _systems: dict[str, uuid.UUID] = field(default_factory=dict)
    _externals: dict[tuple[str, str], uuid.UUID] = field(default_factory=dict)
    modules: dict[str, uuid.UUID] = field(default_factory=dict)

    def add(self, layer: str, name: str, parent: uuid.UUID | None, **extra: Any) -> uuid.UUID:
        concept_id = uuid.uuid4()
        extra.setdefault("description", "")
        self.concepts.append(
            {
                "id": concept_id,
                "project_id": self.project_id,
                "parent_id": parent,
                "layer": layer,
                "name": name[:300],
                "path": extra.get("path"),
                "language": extra.get("language"),
                "line": extra.get("line"),
                "exported": extra.get("exported", False),
                "description": extra["description"],
                "search_text": search_text(name, extra.get("path"), extra["description"]),
            }
        )
        if parent is not None:
            self.link(parent, concept_id, "contains")
        return concept_id

    def link(
        self, source: uuid.UUID, target: uuid.UUID, kind: str, names: tuple[str, ...] = ()
    ) -> None:
        if source == target:
            return
        edge = self.edges.setdefault(
            (source, target, kind),
            {
                "id": uuid.uuid4(),
                "project_id": self.project_id,
                "source_id": source,
                "target_id": target,
                "kind": kind,
                "label": "",
            },
        )
        if names:
            known = [n for n in edge["label"].split(", ") if n]
            edge["label"] = ", ".join(dict.fromkeys([*known, *names]))

    def system(self, name: str) -> uuid.UUID:
        if name not in self._systems:
            self._systems[name] = self.add(
                "system", name, None, path=None if name == ROOT_SYSTEM else name
            )
        return self._systems[name]

    def external(self, package: External) -> uuid.UUID:
        key = (package.ecosystem, package.name)
        if key not in self._externals:
            language = {"npm": "javascript"}.get(package.ecosystem, package.ecosystem)
            self._externals[key] = self.add(
                "external", package.name, None, language=language, description=package.description
            )
        return self._externals[key]


def build_graph(
    project_id: uuid.UUID, parsed: list[ParsedModule], go_mods: dict[str, bytes]
) -> Graph:
    graph = Graph(project_id)
    for module in sorted(parsed, key=lambda m: m.path):
        graph.modules[module.path] = _add_module(graph, module)
    resolver = Resolver.build(set(graph.modules), go_mods)
    for module in parsed:
        source = graph.modules[module.path]
        for ref in module.imports:
            target = resolver.resolve(module.path, module.language, ref)
            if isinstance(target, External):
                graph.link(source, graph.external(target), "imports", ref.names)
            elif target:
                for path in target:
                    graph.link(source, graph.modules[path], "imports", ref.names)
    return graph


def _add_module(graph: Graph, module: ParsedModule) -> uuid.UUID:
    system = graph.system(system_of(module.path))
    module_id = graph.add(
        "module",
        module.path,
        system,
        path=module.path,
        language=module.language,
        description=module.description,
    )
    classes: dict[str, uuid.UUID] = {}
    for concept in module.concepts:
        owner, _, _ = concept.name.rpartition(".")
        parent = classes.get(owner, module_id)
        concept_id = graph.add(
            concept.layer,
            concept.name,
            parent,
            path=module.path,
            language=module.language,
            line=concept.line,
            exported=concept.exported,
            description=concept.description,
        )
        if concept.layer == "class":
            classes[concept.name] = concept_id
    return module_id
