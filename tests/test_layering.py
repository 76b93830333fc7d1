"""Imports point down: no cycles between packages, and the lower layers import nothing above."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "orbiter"
COMPOSITION_ROOT = {"main", "api", "cli", "worker"}
# What each lower package may import (besides itself); domains sit above all of these.
ALLOWED_BELOW: dict[str, set[str]] = {
    "core": set(),
    "models": {"core"},
    "storage": {"core"},
    "llm": {"core"},
    "queue": {"core"},
    "sandbox": {"core"},
    "runtime": {"core", "models", "storage", "queue"},
    "tenancy": {"core", "models", "runtime"},
}


def _imports(path: Path, prefix: str = "orbiter.") -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
    return [name for name in found if name.startswith(prefix)]


def _package(path: Path) -> str:
    parts = path.relative_to(SRC).parts
    return parts[0].removesuffix(".py")


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for path in SRC.rglob("*.py"):
        source = _package(path)
        for module in _imports(path):
            target = module.split(".")[1]
            if target != source:
                edges[source].add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, str] = {}

    def visit(node: str, trail: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                return [*trail[trail.index(nxt) :], nxt] if nxt in trail else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*trail, nxt])):
                return found
        state[node] = "done"
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_import_cycles_between_packages() -> None:
    assert _cycle(_edges()) is None, f"import cycle: {' -> '.join(_cycle(_edges()) or [])}"


def test_lower_layers_import_nothing_above_them() -> None:
    edges = _edges()
    for package, allowed in ALLOWED_BELOW.items():
        assert edges.get(package, set()) <= allowed, (package, edges[package] - allowed)


def test_nothing_imports_the_composition_root() -> None:
    for source, targets in _edges().items():
        if source not in COMPOSITION_ROOT:
            assert not targets & COMPOSITION_ROOT, (source, targets & COMPOSITION_ROOT)


def test_no_router_imports_another_router() -> None:
    for path in SRC.rglob("*.py"):
        if _package(path) in COMPOSITION_ROOT:
            continue
        own = f"orbiter.{_package(path)}."
        for module in _imports(path):
            if module.endswith(".router"):
                assert module.startswith(own), f"{path.relative_to(SRC)} imports {module}"


def test_services_do_not_import_fastapi() -> None:
    for path in SRC.rglob("service.py"):
        modules = {n.split(".")[0] for n in _imports(path, prefix="")}
        assert not modules & {"fastapi", "starlette"}, path.relative_to(SRC)
