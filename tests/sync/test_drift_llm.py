"""drift/analyze keeps its deterministic answer and, with an LLM provider, adds the model's
explanation and recommendation, saying so; a failing LLM leaves a note instead."""

from __future__ import annotations

import json
from typing import Any

from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API
from tests.sync.util import forked

BASE = {"a.txt": b"a\n", "b.txt": b"b\n"}
MAIN = {"a.txt": b"main\n", "b.txt": b"b2\n"}
MINE = {"a.txt": b"mine\n", "b.txt": b"b\n"}
DETERMINISTIC = (
    "risk_level",
    "can_auto_sync",
    "recommendation",
    "recommended_action",
    "conflicts",
    "changes_from_main",
    "overlap_ratio",
)


async def analyze(client: AsyncClient, workspace_id: str) -> dict[str, Any]:
    response = await client.post(f"{API}/workspaces/{workspace_id}/drift/analyze")
    assert response.status_code == 200, response.text
    return response.json()["analysis"]  # type: ignore[no-any-return]


async def test_drift_analysis_says_whether_the_llm_enriched_it(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    plain = await analyze(browser, scene.workspace_id)
    assert plain["llm_enriched"] is False
    assert (plain["enriched_by"], plain["llm_explanation"], plain["notes"]) == (None, None, [])

    provider = await create_fake_provider(browser, fake_llm, name="advisor")
    fake_llm.queue_reply(
        json.dumps({"explanation": "Main rewrote a.txt too.", "recommendation": "Merge a.txt."})
    )
    enriched = await analyze(browser, scene.workspace_id)
    assert {k: enriched[k] for k in DETERMINISTIC} == {k: plain[k] for k in DETERMINISTIC}
    assert enriched["llm_enriched"] is True
    assert enriched["llm_explanation"] == "Main rewrote a.txt too."
    assert enriched["llm_recommendation"] == "Merge a.txt."
    by = enriched["enriched_by"]
    assert (by["provider_id"], by["provider"], by["model"]) == (provider["id"], "advisor", "echo")
    calls = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    facts = json.loads(calls[0].messages[-1]["content"])
    assert facts["conflicts"] == [
        {"path": "a.txt", "reason": "changed on both sides; does not merge cleanly"}
    ]
    assert facts["risk_level"] == plain["risk_level"]
    costs = await browser.get(f"{API}/monitoring/costs", params={"group_by": "model"})
    assert [  # the call counts in the project's costs (the provider has no prices)
        (b["key"], b["tokens_in"], b["tokens_out"], b["cost"], b["spans"])
        for b in costs.json()["buckets"]
    ] == [("echo", by["prompt_tokens"], by["completion_tokens"], None, 1)]
    assert by["prompt_tokens"] > 0

    await create_fake_provider(browser, fake_llm, name="down", models=["error"], is_default=True)
    failed = await analyze(browser, scene.workspace_id)
    assert {k: failed[k] for k in DETERMINISTIC} == {k: plain[k] for k in DETERMINISTIC}
    assert (failed["llm_enriched"], failed["enriched_by"]) == (False, None)
    assert len(failed["notes"]) == 1
    assert "could not enrich" in failed["notes"][0]
