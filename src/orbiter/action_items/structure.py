"""Test coverage (source modules no test names or imports) and refactoring (oversized files
and functions), from the files' names and text alone."""

from __future__ import annotations

import ast
import posixpath
import re
from collections.abc import Iterator, Mapping

from orbiter.action_items.findings import Finding, fingerprint

LARGE_FILE_LINES = 500
LONG_FUNCTION_LINES = 60
MIN_MODULE_LINES = 3
SOURCE_EXTENSIONS = (".py", ".js", ".ts", ".jsx", ".tsx", ".go")
JS_TEST = re.compile(r"\.(?:test|spec)\.[jt]sx?$")


def is_test(path: str) -> bool:
    name = posixpath.basename(path)
    parts = path.split("/")
    return (
        name.startswith("test_")
        or name.endswith(("_test.py", "_test.go"))
        or bool(JS_TEST.search(name))
        or any(part in ("tests", "test", "__tests__") for part in parts[:-1])
    )


def is_source(path: str) -> bool:
    name = posixpath.basename(path)
    return (
        path.endswith(SOURCE_EXTENSIONS)
        and not is_test(path)
        and name not in ("__init__.py", "conftest.py", "setup.py", "__main__.py")
        and not name.endswith((".d.ts", ".config.js", ".config.ts"))
        and not any(part.startswith(".") or part == "migrations" for part in path.split("/"))
    )


def _stem(path: str) -> str:
    return posixpath.basename(path).split(".", 1)[0]


def _covered(stem: str, tests: Mapping[str, str]) -> bool:
    word = re.compile(rf"\b{re.escape(stem)}\b")
    return any(stem in _stem(path) or word.search(text) for path, text in tests.items())


def _code_lines(text: str) -> int:
    return sum(
        1 for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    )


def find_untested(files: Mapping[str, str]) -> Iterator[Finding]:
    tests = {path: text for path, text in files.items() if is_test(path)}
    sources = [p for p, t in files.items() if is_source(p) and _code_lines(t) >= MIN_MODULE_LINES]
    if not sources:
        return
    if not tests:
        yield Finding(
            kind="test_coverage",
            rule="no-tests",
            severity="high",
            title="The project has no tests",
            description=(
                f"{len(sources)} source modules and no test file (test_*.py, *_test.go, "
                "*.test.ts, a tests/ directory). Start with the modules that change most."
            ),
            path=None,
            line=None,
            fingerprint=fingerprint("test_coverage", "no-tests"),
        )
        return
    for path in sorted(sources):
        if not _covered(_stem(path), tests):
            yield Finding(
                kind="test_coverage",
                rule="untested-module",
                severity="medium",
                title=f"No test covers {path}",
                description=(
                    f"No test file names or imports {_stem(path)!r}; add tests for {path}."
                ),
                path=path,
                line=None,
                fingerprint=fingerprint("test_coverage", "untested-module", path),
            )


def _long_functions(path: str, text: str) -> Iterator[Finding]:
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        length = (node.end_lineno or node.lineno) - node.lineno + 1
        if length > LONG_FUNCTION_LINES:
            yield Finding(
                kind="refactoring",
                rule="long-function",
                severity="low",
                title=f"{node.name} in {path} is {length} lines long",
                description=(
                    f"Functions over {LONG_FUNCTION_LINES} lines are hard to read and test; "
                    f"split {node.name} into smaller functions."
                ),
                path=path,
                line=node.lineno,
                fingerprint=fingerprint("refactoring", "long-function", path, node.name),
            )


def find_oversized(files: Mapping[str, str]) -> Iterator[Finding]:
    for path in sorted(files):
        if not path.endswith(SOURCE_EXTENSIONS):
            continue
        text = files[path]
        lines = text.count("\n") + 1
        if lines > LARGE_FILE_LINES:
            yield Finding(
                kind="refactoring",
                rule="large-file",
                severity="low",
                title=f"{path} is {lines} lines long",
                description=(
                    f"Files over {LARGE_FILE_LINES} lines are hard to navigate; split {path} "
                    "by responsibility."
                ),
                path=path,
                line=None,
                fingerprint=fingerprint("refactoring", "large-file", path),
            )
        if path.endswith(".py"):
            yield from _long_functions(path, text)
