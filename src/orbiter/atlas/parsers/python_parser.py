"""Python files, read with the standard library's `ast`."""

from __future__ import annotations

import ast

from orbiter.atlas.parsers.base import CodeConcept, ImportRef, ParsedModule, first_line

FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


def parse_python(path: str, source: bytes) -> ParsedModule:
    module = ParsedModule(path=path, language="python")
    try:
        tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        module.error = f"{type(exc).__name__}: {exc}"[:300]
        return module
    module.description = first_line(ast.get_docstring(tree) or "")
    public = _all_names(tree)
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            module.concepts.append(_concept(node, node.name, "class", public))
            for item in node.body:
                if isinstance(item, FUNCTIONS):
                    name = f"{node.name}.{item.name}"
                    module.concepts.append(_concept(item, name, "function", public))
        elif isinstance(node, FUNCTIONS):
            module.concepts.append(_concept(node, node.name, "function", public))
    module.imports = [ref for node in ast.walk(tree) for ref in _imports(node)]
    return module


def _all_names(tree: ast.Module) -> set[str] | None:
    """The names in a literal `__all__`, or None when the module has none."""
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets)
            and isinstance(node.value, ast.List | ast.Tuple)
        ):
            return {
                e.value
                for e in node.value.elts
                if isinstance(e, ast.Constant) and isinstance(e.value, str)
            }
    return None


def _concept(
    node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef,
    name: str,
    layer: str,
    public: set[str] | None,
) -> CodeConcept:
    top = name.split(".", 1)[0]
    last = name.rsplit(".", 1)[-1]
    exported = (top in public) if public is not None else not top.startswith("_")
    exported = exported and (not last.startswith("_") or last == "__init__")
    return CodeConcept(
        name=name,
        layer=layer,
        line=node.lineno,
        exported=exported,
        description=first_line(ast.get_docstring(node) or ""),
    )


def _imports(node: ast.AST) -> list[ImportRef]:
    if isinstance(node, ast.Import):
        return [ImportRef(alias.name) for alias in node.names]
    if isinstance(node, ast.ImportFrom):
        target = "." * node.level + (node.module or "")
        return [ImportRef(target, tuple(alias.name for alias in node.names))]
    return []
