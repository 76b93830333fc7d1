"""What a parser finds in one source file: its code concepts and its imports."""

from __future__ import annotations

from dataclasses import dataclass, field

from tree_sitter import Node

MAX_DESCRIPTION_CHARS = 300


@dataclass(frozen=True)
class CodeConcept:
    name: str  # "Store", "open_store", "Store.get" for a method
    layer: str  # "class", "function" or "type"
    line: int  # 1-based
    exported: bool
    description: str = ""


@dataclass(frozen=True)
class ImportRef:
    """An import as written: a Python dotted name (leading dots when relative), a JavaScript
    or TypeScript specifier, or a Go import path; and the names it imports, if any."""

    target: str
    names: tuple[str, ...] = ()


@dataclass
class ParsedModule:
    path: str
    language: str
    description: str = ""
    concepts: list[CodeConcept] = field(default_factory=list)
    imports: list[ImportRef] = field(default_factory=list)
    error: str | None = None  # set when the file could not be parsed


def first_line(text: str) -> str:
    """The first non-empty line of a docstring or comment, without comment markers."""
    for line in text.splitlines():
        cleaned = line.strip().strip("/*#").strip()
        if cleaned:
            return cleaned[:MAX_DESCRIPTION_CHARS]
    return ""


def node_text(node: Node | None) -> str:
    return "" if node is None or node.text is None else node.text.decode("utf-8", "replace")


def string_value(node: Node | None) -> str:
    """A string literal's content, without its quotes."""
    return node_text(node).strip("\"'`")


def line_of(node: Node) -> int:
    return node.start_point[0] + 1


def leading_comment(node: Node) -> str:
    """The first line of the comment right above `node` (a doc comment), if any."""
    previous = node.prev_named_sibling
    if (
        previous is not None
        and previous.type == "comment"
        and node.start_point[0] - previous.end_point[0] <= 1
    ):
        return first_line(node_text(previous))
    return ""
