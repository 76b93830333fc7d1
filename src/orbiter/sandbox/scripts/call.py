"""Run saved Python once, inside a sandbox, and report its result as JSON.

stdin is a JSON object: `code`, and either `function` with `arguments` (a custom `code`
tool: the code defines the function, which is called with the arguments as keywords; a
coroutine it returns is run) or `globals` (a `code_python` workflow node: the code runs with
these names set, and its result is the variable `result`, else the value of a last
expression). The report goes to the side channel (fd $ORBITER_SIDE_FD): `{"result": <JSON>}`
or `{"error": {name, value, traceback}}` (this file's frames left out; `describe` is the
cell script's).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import json
import os
import sys
from typing import Any

from cell import describe  # type: ignore[import-not-found]  # the cell script beside this one

FILENAME = "<code>"


def without_own_frames(exc: BaseException) -> BaseException:
    """`exc` with its traceback starting in the code, past this file's frames."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == __file__:
        tb = tb.tb_next
    return exc.with_traceback(tb)


def run_script(code: str, names: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = {"__name__": "__main__", **names}
    tree = ast.parse(code, FILENAME, "exec")
    last = None
    if tree.body and isinstance(final := tree.body[-1], ast.Expr):
        tree.body.pop()
        last = ast.Expression(final.value)
    exec(compile(tree, FILENAME, "exec"), namespace)  # noqa: S102 - running it is the point
    value = None
    if last is not None:
        value = eval(compile(last, FILENAME, "eval"), namespace)  # noqa: S307
    return namespace.get("result", value)


def call_function(code: str, name: str, arguments: dict[str, Any]) -> Any:
    namespace: dict[str, Any] = {"__name__": "__tool__"}
    exec(compile(code, FILENAME, "exec"), namespace)  # noqa: S102 - running it is the point
    function = namespace.get(name)
    if not callable(function):
        raise NameError(f"the code defines no function {name!r}")
    result = function(**arguments)
    if inspect.iscoroutine(result):
        result = asyncio.run(result)
    return result


def main() -> int:
    side = os.fdopen(int(os.environ["ORBITER_SIDE_FD"]), "w")
    request = json.loads(sys.stdin.read())
    sys.stdin = open(os.devnull)  # noqa: SIM115 - the code's stdin, for its whole life
    report: dict[str, Any]
    try:
        if "function" in request:
            result = call_function(request["code"], request["function"], request["arguments"])
        else:
            result = run_script(request["code"], request["globals"])
        try:
            text = json.dumps(result, allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"the result is not JSON: {exc}") from None
        report = {"result": json.loads(text)}
    except BaseException as exc:  # every failure of the code is its result
        report = {"error": describe(without_own_frames(exc))}
    sys.stdout.flush()
    sys.stderr.flush()
    side.write(json.dumps(report))
    side.close()
    return 1 if "error" in report else 0


if __name__ == "__main__":
    sys.exit(main())
