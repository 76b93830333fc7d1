"""One real parser per language: Python's `ast`; tree-sitter for JavaScript, TypeScript, Go."""

from __future__ import annotations

from orbiter.atlas.parsers.base import CodeConcept, ImportRef, ParsedModule
from orbiter.atlas.parsers.go import parse_go
from orbiter.atlas.parsers.javascript import parse_javascript
from orbiter.atlas.parsers.python_parser import parse_python

# Extension → tree-sitter grammar (or "python", "go").
GRAMMARS = {
    ".py": "python",
    ".pyi": "python",
    ".js": "javascript",
    ".mjs": "javascript",
    ".cjs": "javascript",
    ".jsx": "javascript",
    ".ts": "typescript",
    ".mts": "typescript",
    ".cts": "typescript",
    ".tsx": "tsx",
    ".go": "go",
}

__all__ = ["GRAMMARS", "CodeConcept", "ImportRef", "ParsedModule", "grammar_of", "parse_source"]


def grammar_of(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    if name.endswith(".d.ts"):
        return "typescript"
    dot = name.rfind(".")
    return GRAMMARS.get(name[dot:].lower()) if dot > 0 else None


def parse_source(path: str, source: bytes) -> ParsedModule:
    """Parse one file (CPU-bound: call it off the event loop)."""
    grammar = grammar_of(path)
    if grammar == "python":
        return parse_python(path, source)
    if grammar == "go":
        return parse_go(path, source)
    if grammar is None:
        raise ValueError(f"no parser for {path}")
    return parse_javascript(path, source, grammar)
