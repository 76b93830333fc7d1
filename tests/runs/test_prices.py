"""Prices: the shipped table, dated model names, unknown models (null, never 0), and the
per-model overrides a provider may carry (`prices` in the providers API)."""

from __future__ import annotations

import pytest

from orbiter.runs import prices
from tests.helpers import SignedIn, assert_error

API = "/api/v1"


def test_the_table_prices_current_openai_and_anthropic_models() -> None:
    table = prices.table()
    assert {"gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3"} <= set(table["openai"])
    assert {"claude-sonnet-4", "claude-3-5-haiku", "claude-opus-4"} <= set(table["anthropic"])
    for models in table.values():
        for price in models.values():
            assert set(price) == {"input", "output"}
            assert 0 < price["input"] <= price["output"]


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("openai", "gpt-4o", 2.5 + 10.0),
        ("openai", "gpt-4o-2024-08-06", 2.5 + 10.0),
        ("openai", "gpt-4o-mini", 0.15 + 0.6),
        ("anthropic", "claude-sonnet-4-20250514", 3 + 15),
        ("anthropic", "claude-3-5-haiku-latest", 0.8 + 4),
    ],
)
def test_known_models_cost_their_price_per_million_tokens(
    provider: str, model: str, expected: float
) -> None:
    assert prices.cost(provider, model, 1_000_000, 1_000_000) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("provider", "model"),
    [
        ("openai", "gpt-4o-audio-preview"),  # not a dated gpt-4o: priced differently
        ("openai", "my-fine-tune"),
        ("ollama", "llama3"),
        ("openai_compatible", "gpt-4o"),  # someone else's server: its own prices
        ("anthropic", None),
        (None, "gpt-4o"),
    ],
)
def test_unknown_models_have_no_cost_never_zero(provider: str | None, model: str | None) -> None:
    assert prices.cost(provider, model, 1000, 1000) is None


def test_a_providers_prices_override_the_table() -> None:
    override = {"gpt-4o": {"input": 1.0, "output": 2.0}, "llama3": {"input": 0, "output": 0}}
    assert prices.cost("openai", "gpt-4o", 1_000_000, 0, override) == pytest.approx(1.0)
    assert prices.cost("ollama", "llama3", 5000, 5000, override) == 0.0
    assert prices.cost("openai", "gpt-4o-mini", 1_000_000, 0, override) == pytest.approx(0.15)


async def test_providers_store_and_return_their_prices(owner: SignedIn) -> None:
    client = owner.browser
    body = {
        "name": "local",
        "type": "ollama",
        "prices": {"llama3": {"input": 0.1, "output": 0.2}},
    }
    created = await client.post(f"{API}/providers", json=body)
    assert created.status_code == 201, created.text
    assert created.json()["prices"] == {"llama3": {"input": 0.1, "output": 0.2}}
    provider_id = created.json()["id"]
    updated = await client.put(
        f"{API}/providers/{provider_id}",
        json={"prices": {"mistral": {"input": 0.3, "output": 0.3}}},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json()["prices"] == {"mistral": {"input": 0.3, "output": 0.3}}
    kept = await client.put(f"{API}/providers/{provider_id}", json={"name": "renamed"})
    assert kept.json()["prices"] == {"mistral": {"input": 0.3, "output": 0.3}}
    cleared = await client.put(f"{API}/providers/{provider_id}", json={"prices": None})
    assert cleared.json()["prices"] is None
    plain = await client.post(f"{API}/providers", json={"name": "plain", "type": "openai"})
    assert plain.json()["prices"] is None


@pytest.mark.parametrize(
    "bad",
    [
        {"m": {"input": -1, "output": 1}},
        {"m": {"input": 1}},
        {"m": {"input": "cheap", "output": 1}},
        {"": {"input": 1, "output": 1}},
    ],
)
async def test_bad_prices_are_refused(owner: SignedIn, bad: object) -> None:
    response = await owner.browser.post(
        f"{API}/providers", json={"name": "p", "type": "ollama", "prices": bad}
    )
    assert_error(response, 422, "VALIDATION_ERROR")
