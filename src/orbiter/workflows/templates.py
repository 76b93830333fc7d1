"""Variables by reference: node settings are Jinja templates rendered in a sandbox.

What templates see: `inputs` (the run's inputs), every finished node by id
(`{{ summarize.output.text }}`; ids that are not identifiers through `nodes["my-node"]`),
`input` (what arrived on this node's input), `vars` (set by `variable_assigner` nodes), and in
a loop's body `item` and `index`. A skipped node is there with output null.

A string that is exactly one `{{ expression }}` becomes the expression's value (a list stays a
list, a number a number); any other string is rendered as text. An undefined name is an error
that names it, so a typo fails the node instead of producing an empty string.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError, Undefined
from jinja2.exceptions import SecurityError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from orbiter.workflows.errors import NodeError


def _finalize(value: Any) -> Any:
    """An object or list in text is written as JSON, not as Python's repr."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, default=str)
    return value


class _BoundedEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, plus bounds on the two operators that can exhaust a worker in one
    expression: `'x' * 10**9` and `2 ** 10**9`."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "**" and isinstance(right, int | float) and abs(right) > MAX_EXPONENT:
            raise SecurityError(f"an exponent above {MAX_EXPONENT} is not allowed")
        if operator == "*" and max(_repeated(left, right), _repeated(right, left)) > MAX_REPEAT:
            raise SecurityError(f"a repetition above {MAX_REPEAT} items is not allowed")
        return super().call_binop(context, operator, left, right)


def _repeated(sequence: Any, times: Any) -> int:
    if isinstance(sequence, str | list | tuple) and isinstance(times, int):
        return len(sequence) * times
    return 0


_ENV = _BoundedEnvironment(undefined=StrictUndefined, autoescape=False, finalize=_finalize)
_ONE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>(?:(?!\{\{|\}\}).)*)\}\}\s*$", re.DOTALL)
MAX_TEMPLATE_CHARS = 100_000
MAX_EXPONENT = 1000
MAX_REPEAT = 1_000_000


@lru_cache(maxsize=2048)
def _expression(source: str) -> Any:
    return _ENV.compile_expression(source, undefined_to_none=False)


@lru_cache(maxsize=2048)
def _template(source: str) -> Any:
    return _ENV.from_string(source)


def evaluate(expression: str, variables: Mapping[str, Any]) -> Any:
    """The value of a Jinja expression (no braces)."""
    try:
        return _plain(_expression(expression)(**variables))
    except TemplateError as exc:
        raise NodeError(f"Expression {expression.strip()!r}: {exc}", "TEMPLATE_ERROR") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise NodeError(f"Expression {expression.strip()!r}: {exc}", "TEMPLATE_ERROR") from exc


def render_text(template: str, variables: Mapping[str, Any]) -> str:
    if len(template) > MAX_TEMPLATE_CHARS:
        raise NodeError(f"A template is limited to {MAX_TEMPLATE_CHARS} characters")
    try:
        return str(_template(template).render(**variables))
    except TemplateError as exc:
        raise NodeError(f"Template: {exc}", "TEMPLATE_ERROR") from exc
    except (TypeError, ValueError, ArithmeticError, LookupError, AttributeError) as exc:
        raise NodeError(f"Template: {exc}", "TEMPLATE_ERROR") from exc


def render(value: Any, variables: Mapping[str, Any]) -> Any:
    """`value` with every string in it rendered (see the module's doc)."""
    if isinstance(value, str):
        if "{" not in value:
            return value
        one = _ONE_EXPRESSION.match(value)
        if one is not None:
            return evaluate(one.group("expr"), variables)
        return render_text(value, variables)
    if isinstance(value, list):
        return [render(item, variables) for item in value]
    if isinstance(value, dict):
        return {key: render(item, variables) for key, item in value.items()}
    return value


def _plain(value: Any) -> Any:
    """Jinja may hand back tuples, generators or markup; JSON wants lists and strings."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Undefined):
        value._fail_with_undefined_error()  # raises UndefinedError naming the variable
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if callable(value):
        raise TypeError(
            "it gives a method, not a value (a key named like a method of its object, such "
            "as items, keys or values, is read with brackets: inputs['items'])"
        )
    if hasattr(value, "__html__"):
        return str(value)
    if hasattr(value, "__iter__"):
        return [_plain(v) for v in value]
    return str(value)
