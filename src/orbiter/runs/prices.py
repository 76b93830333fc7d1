"""What an LLM call cost, from the price table shipped as data (`prices.json`).

The table gives USD per million input and output tokens for current OpenAI and Anthropic
models, by provider type. A provider row may override it per model (`llm_providers.prices`,
the providers API's `prices` field). A model name matches a table entry exactly, or with a
date or `-latest` suffix (`gpt-4o-2024-08-06`, `claude-sonnet-4-20250514`). An unknown model
(or a provider type without a table, such as Ollama or an OpenAI-compatible server, unless its
row names prices) has no price: `cost` returns None, never 0, and so does the run's cost.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import cache
from importlib.resources import files
from typing import Any

PER_TOKENS = 1_000_000
_SUFFIX = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|latest)$")

Prices = Mapping[str, Mapping[str, float]]  # model -> {"input", "output"}


@cache
def table() -> dict[str, dict[str, dict[str, float]]]:
    data: dict[str, dict[str, dict[str, float]]] = json.loads(
        files("orbiter.runs").joinpath("prices.json").read_text()
    )
    return data


def price(
    provider: str | None, model: str | None, overrides: Mapping[str, Any] | None = None
) -> Mapping[str, float] | None:
    """The {"input", "output"} price of `model`, or None when unknown."""
    if not model:
        return None
    base = _SUFFIX.sub("", model)
    for prices in (overrides or {}, table().get(provider or "", {})):
        for name in (model, base):
            found = prices.get(name)
            if _valid(found):
                return found
    return None


def _valid(entry: object) -> bool:
    return isinstance(entry, Mapping) and all(
        isinstance(entry.get(side), int | float) and entry[side] >= 0
        for side in ("input", "output")
    )


def cost(
    provider: str | None,
    model: str | None,
    tokens_in: int,
    tokens_out: int,
    overrides: Mapping[str, Any] | None = None,
) -> float | None:
    """USD for the tokens, or None when the model has no price (never 0 for unknown)."""
    found = price(provider, model, overrides)
    if found is None:
        return None
    return (tokens_in * found["input"] + tokens_out * found["output"]) / PER_TOKENS
