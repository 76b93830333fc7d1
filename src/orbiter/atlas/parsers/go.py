"""Go files, read with the tree-sitter grammar (`tree-sitter-go`)."""

from __future__ import annotations

import tree_sitter_go
from tree_sitter import Language, Node, Parser

from orbiter.atlas.parsers.base import (
    CodeConcept,
    ImportRef,
    ParsedModule,
    leading_comment,
    line_of,
    node_text,
    string_value,
)

GO = Language(tree_sitter_go.language())


def parse_go(path: str, source: bytes) -> ParsedModule:
    module = ParsedModule(path=path, language="go")
    tree = Parser(GO).parse(source)
    if tree.root_node.has_error:
        module.error = "the file has syntax errors; what parsed is kept"
    for node in tree.root_node.named_children:
        if node.type == "package_clause":
            package = node.named_children[0] if node.named_children else None
            module.description = f"package {node_text(package)}"
        elif node.type == "import_declaration":
            module.imports.extend(_imports(node))
        elif node.type == "function_declaration":
            module.concepts.append(_concept(node, node_text(node.child_by_field_name("name"))))
        elif node.type == "method_declaration":
            name = node_text(node.child_by_field_name("name"))
            module.concepts.append(_concept(node, f"{_receiver(node)}.{name}", exported_by=name))
        elif node.type == "type_declaration":
            module.concepts.extend(_types(node))
    return module


def _concept(
    node: Node, name: str, *, exported_by: str | None = None, layer: str = ""
) -> CodeConcept:
    word = exported_by or name
    return CodeConcept(
        name=name,
        layer=layer or "function",
        line=line_of(node),
        exported=word[:1].isupper(),
        description=leading_comment(node),
    )


def _receiver(node: Node) -> str:
    """The receiver's type name, without a pointer or type parameters."""
    receiver = node.child_by_field_name("receiver")
    text = node_text(receiver).strip("()")
    words = text.replace("*", " ").split()
    return words[-1].split("[", 1)[0] if words else "?"


def _types(node: Node) -> list[CodeConcept]:
    found = []
    for spec in node.named_children:
        if spec.type not in ("type_spec", "type_alias"):
            continue
        name = node_text(spec.child_by_field_name("name"))
        kind = spec.child_by_field_name("type")
        layer = "class" if kind is not None and kind.type == "struct_type" else "type"
        concept = _concept(spec, name, layer=layer)
        if not concept.description:
            doc = leading_comment(node)
            concept = CodeConcept(name, layer, concept.line, concept.exported, doc)
        found.append(concept)
    return found


def _imports(node: Node) -> list[ImportRef]:
    found = []
    stack = list(node.named_children)
    while stack:
        child = stack.pop(0)
        if child.type == "import_spec":
            alias = child.child_by_field_name("name")
            names = (node_text(alias),) if alias is not None else ()
            found.append(ImportRef(string_value(child.child_by_field_name("path")), names))
        elif child.type == "import_spec_list":
            stack.extend(child.named_children)
    return found
