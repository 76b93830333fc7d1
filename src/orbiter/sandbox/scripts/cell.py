"""One notebook cell, run inside a sandbox by the sandbox's own Python.

The code comes on stdin. Like a notebook, the value of a last expression is the cell's
result: it is evaluated separately and reported (with its rich `_repr_*_` forms when the
value has them) as JSON on the side channel (fd $ORBITER_SIDE_FD), together with the error a
failing cell raised: its name, value and traceback (this file's frames left out).
"""

from __future__ import annotations

import _ast  # the parser's node types: `ast` itself would import enum, re and contextlib
import json
import os
import sys

# (typing, traceback and ast are left out: every import here is paid by every cell's start)

FORMATS = ("html", "markdown", "svg", "png", "jpeg", "latex", "json", "javascript")


def represent(value: object) -> dict[str, object]:
    result: dict[str, object] = {"text": repr(value), "is_main_result": True}
    for name in FORMATS:
        method = getattr(value, f"_repr_{name}_", None)
        shown = None
        if callable(method):
            shown = _shown(method)
        if shown is not None:
            result[name] = shown
    return result


def _shown(method: object) -> object:
    try:
        return method()  # type: ignore[operator]
    except Exception:  # a broken rich form is left out, as notebooks do
        return None


def describe(exc: BaseException) -> dict[str, str]:
    import traceback  # only a failing cell needs it

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename != __file__]
    lines = ["Traceback (most recent call last):\n"] if frames else []
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return {"name": type(exc).__name__, "value": str(exc), "traceback": "".join(lines)}


def run(code: str, results: list[dict[str, object]]) -> None:
    namespace: dict[str, object] = {"__name__": "__main__", "__builtins__": __builtins__}
    tree = compile(code, "<cell>", "exec", _ast.PyCF_ONLY_AST)
    assert isinstance(tree, _ast.Module)
    last = None
    if tree.body and isinstance(final := tree.body[-1], _ast.Expr):
        tree.body.pop()
        last = _ast.Expression(final.value)
    exec(compile(tree, "<cell>", "exec"), namespace)  # noqa: S102 - running it is the point
    if last is not None:
        value = eval(compile(last, "<cell>", "eval"), namespace)  # noqa: S307
        if value is not None:
            results.append(represent(value))


def main() -> int:
    side = os.fdopen(int(os.environ["ORBITER_SIDE_FD"]), "w")
    results: list[dict[str, object]] = []
    error: dict[str, str] | None = None
    code = sys.stdin.read()
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the cell's stdin, for its whole life
    status = 0
    try:
        run(code, results)
    except SystemExit as exc:
        status = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException as exc:  # every failure of the cell is its result
        error = describe(exc)
        status = 1
    sys.stdout.flush()
    sys.stderr.flush()
    side.write(json.dumps({"results": results, "error": error}, default=repr))
    side.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
