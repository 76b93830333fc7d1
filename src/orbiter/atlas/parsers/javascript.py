"""JavaScript and TypeScript files, read with the tree-sitter grammars (`tree-sitter-javascript`,
`tree-sitter-typescript`; TSX and JSX included)."""

from __future__ import annotations

import tree_sitter_javascript
import tree_sitter_typescript
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

LANGUAGES = {
    "javascript": Language(tree_sitter_javascript.language()),
    "typescript": Language(tree_sitter_typescript.language_typescript()),
    "tsx": Language(tree_sitter_typescript.language_tsx()),
}
CLASSES = ("class_declaration", "abstract_class_declaration", "class")
FUNCTIONS = ("function_declaration", "generator_function_declaration")
TYPES = ("interface_declaration", "type_alias_declaration", "enum_declaration")
VARIABLES = ("lexical_declaration", "variable_declaration")
FUNCTION_VALUES = ("arrow_function", "function_expression", "function")


def parse_javascript(path: str, source: bytes, grammar: str) -> ParsedModule:
    """`grammar`: javascript, typescript or tsx."""
    language = "javascript" if grammar == "javascript" else "typescript"
    module = ParsedModule(path=path, language=language)
    tree = Parser(LANGUAGES[grammar]).parse(source)
    if tree.root_node.has_error:
        module.error = "the file has syntax errors; what parsed is kept"
    exported_names: set[str] = set()
    for node in tree.root_node.named_children:
        _top_level(module, node, exported_names)
    if exported_names:
        module.concepts = [
            c if c.name.split(".", 1)[0] not in exported_names else _exported(c)
            for c in module.concepts
        ]
    module.imports.extend(_requires(tree.root_node))
    return module


def _exported(concept: CodeConcept) -> CodeConcept:
    return CodeConcept(concept.name, concept.layer, concept.line, True, concept.description)


def _top_level(module: ParsedModule, node: Node, exported_names: set[str]) -> None:
    if node.type == "import_statement":
        module.imports.append(_import(node))
    elif node.type == "export_statement":
        source = node.child_by_field_name("source")
        if source is not None:
            module.imports.append(ImportRef(string_value(source), _clause_names(node)))
        declaration = node.child_by_field_name("declaration")
        if declaration is not None:
            _declaration(module, declaration, exported=True, doc_node=node)
        else:
            exported_names.update(_clause_names(node))
    else:
        _declaration(module, node, exported=False, doc_node=node)


def _declaration(module: ParsedModule, node: Node, *, exported: bool, doc_node: Node) -> None:
    doc = leading_comment(doc_node)
    name = node_text(node.child_by_field_name("name"))
    if node.type in CLASSES and name:
        module.concepts.append(CodeConcept(name, "class", line_of(node), exported, doc))
        module.concepts.extend(_methods(node, name))
    elif node.type in FUNCTIONS and name:
        module.concepts.append(CodeConcept(name, "function", line_of(node), exported, doc))
    elif node.type in TYPES and name:
        module.concepts.append(CodeConcept(name, "type", line_of(node), exported, doc))
    elif node.type in VARIABLES:
        for declarator in node.named_children:
            value = declarator.child_by_field_name("value")
            var = node_text(declarator.child_by_field_name("name"))
            if value is None or not var:
                continue
            if value.type in FUNCTION_VALUES:
                module.concepts.append(CodeConcept(var, "function", line_of(node), exported, doc))
            elif value.type == "class":
                module.concepts.append(CodeConcept(var, "class", line_of(node), exported, doc))


def _methods(node: Node, class_name: str) -> list[CodeConcept]:
    body = node.child_by_field_name("body")
    found = []
    for member in body.named_children if body is not None else []:
        if member.type in ("method_definition", "abstract_method_signature"):
            name = node_text(member.child_by_field_name("name"))
            private = name.startswith("#") or any(
                c.type == "accessibility_modifier" and node_text(c) == "private"
                for c in member.children
            )
            found.append(
                CodeConcept(
                    f"{class_name}.{name}",
                    "function",
                    line_of(member),
                    not private,
                    leading_comment(member),
                )
            )
    return found


def _import(node: Node) -> ImportRef:
    names: list[str] = []
    for clause in node.named_children:
        if clause.type == "import_clause":
            for part in clause.named_children:
                if part.type == "identifier":  # the default import
                    names.append(node_text(part))
                elif part.type == "named_imports":
                    names.extend(_specifier_names(part))
                elif part.type == "namespace_import":
                    names.append("*")
    return ImportRef(string_value(node.child_by_field_name("source")), tuple(names))


def _clause_names(node: Node) -> tuple[str, ...]:
    clause = next((c for c in node.named_children if c.type == "export_clause"), None)
    return tuple(_specifier_names(clause)) if clause is not None else ()


def _specifier_names(node: Node) -> list[str]:
    return [
        node_text(spec.child_by_field_name("name"))
        for spec in node.named_children
        if spec.type in ("import_specifier", "export_specifier")
    ]


def _requires(root: Node) -> list[ImportRef]:
    """`require("x")` calls anywhere in the file (CommonJS)."""
    found = []
    stack = [root]
    while stack:
        node = stack.pop()
        if node.type == "call_expression":
            function = node.child_by_field_name("function")
            arguments = node.child_by_field_name("arguments")
            if node_text(function) == "require" and arguments is not None:
                first = arguments.named_children[:1]
                if first and first[0].type == "string":
                    found.append(ImportRef(string_value(first[0])))
        stack.extend(reversed(node.named_children))
    return found
