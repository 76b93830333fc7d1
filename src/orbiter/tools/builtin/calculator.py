"""`calculator`: arithmetic and math functions, evaluated by `simpleeval` (never `eval`).

simpleeval parses the expression with `ast` and walks only the nodes it allows (numbers,
arithmetic, comparisons, the functions and names given here): no attribute access, no
imports, no comprehensions. Its own limits bound string repetition and exponents; powers and
products are bounded further here by the size of their result, so an expression cannot keep
a worker busy computing numbers with millions of digits.
"""

from __future__ import annotations

import ast
import math
import operator
from typing import Any

import simpleeval

from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed

MAX_EXPRESSION_CHARS = 1000
MAX_RESULT_BITS = 4096  # integers beyond this (about 1,230 digits) are refused

FUNCTIONS = {
    "abs": abs,
    "round": round,
    "min": min,
    "max": max,
    "sqrt": math.sqrt,
    "exp": math.exp,
    "log": math.log,
    "log10": math.log10,
    "log2": math.log2,
    "sin": math.sin,
    "cos": math.cos,
    "tan": math.tan,
    "asin": math.asin,
    "acos": math.acos,
    "atan": math.atan,
    "atan2": math.atan2,
    "floor": math.floor,
    "ceil": math.ceil,
    "factorial": lambda n: _bounded(math.factorial(n)) if 0 <= n <= 500 else _too_big(),
    "hypot": math.hypot,
    "degrees": math.degrees,
    "radians": math.radians,
}
NAMES = {"pi": math.pi, "e": math.e, "tau": math.tau, "inf": math.inf}


def _too_big() -> Any:
    raise simpleeval.NumberTooHigh("the result would be too large")


def _bounded(value: Any) -> Any:
    if isinstance(value, int) and value.bit_length() > MAX_RESULT_BITS:
        _too_big()
    return value


def _power(base: Any, exponent: Any) -> Any:
    integers = isinstance(base, int) and isinstance(exponent, int)
    if integers and abs(base) > 1 and exponent * abs(base).bit_length() > MAX_RESULT_BITS:
        _too_big()
    return operator.pow(base, exponent)


def _multiply(left: Any, right: Any) -> Any:
    return _bounded(operator.mul(left, right))


OPERATORS = {
    **simpleeval.DEFAULT_OPERATORS,
    ast.Pow: _power,
    ast.Mult: _multiply,
    ast.LShift: lambda a, b: _bounded(simpleeval.safe_lshift(a, b)),
}


def evaluate(expression: str) -> int | float | bool:
    evaluator = simpleeval.SimpleEval(operators=OPERATORS, functions=FUNCTIONS, names=NAMES)
    try:
        result = evaluator.eval(expression)
    except simpleeval.InvalidExpression as exc:
        raise ToolFailed(f"Cannot evaluate {expression!r}: {exc}") from exc
    except (ArithmeticError, ValueError, TypeError, SyntaxError) as exc:
        raise ToolFailed(f"Cannot evaluate {expression!r}: {exc or type(exc).__name__}") from exc
    if isinstance(result, bool):
        return result
    if isinstance(result, float) and not math.isfinite(result):
        raise ToolFailed(f"{expression!r} is not a finite number")
    if not isinstance(result, int | float):
        raise ToolFailed(f"{expression!r} is not a number")
    return _bounded(result)  # type: ignore[no-any-return]


async def run(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    expression = str(arguments["expression"])
    return {"expression": expression, "result": evaluate(expression)}


CALCULATOR = RunnableTool(
    id="calculator",
    name="calculator",
    description=(
        "Evaluate an arithmetic expression exactly: + - * / // % **, comparisons, parentheses, "
        "and the functions " + ", ".join(sorted(FUNCTIONS)) + " with the constants pi, e, tau. "
        "Example: sqrt(2) * 10 ** 3"
    ),
    input_schema={
        "type": "object",
        "properties": {
            "expression": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_EXPRESSION_CHARS,
                "description": "The expression, in Python syntax",
            }
        },
        "required": ["expression"],
        "additionalProperties": False,
    },
    run=run,
    timeout_seconds=5.0,
    builtin=True,
)
