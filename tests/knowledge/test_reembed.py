"""Changing the embedding model re-embeds in the background: a provider's `embedding_model`
or `embedding_dimensions` changing, or another default provider with another model, sends a
job after commit that re-embeds the user's chunks in batches (the fake `/embeddings`); until it
finishes, search reads the chunks with a stale model by full text only."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.knowledge import reembed
from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API
from tests.knowledge.util import indexed, make_kb, query

pytestmark = pytest.mark.usefixtures("run_worker")

ANIMALS = {
    "otters.txt": b"Sea otters hold hands while they sleep so they do not drift apart.",
    "owls.txt": b"Barn owls hunt at night and hear mice moving under snow.",
    "ants.txt": b"Leafcutter ants farm a fungus in their underground gardens.",
}


async def _models(client: AsyncClient, kb_id: str) -> set[str | None]:
    listed = await client.get(f"{API}/knowledge-bases/{kb_id}/documents")
    return {d["embedding_model"] for d in listed.json()["data"]}


async def _until(check: Any, timeout: float = 10) -> None:
    async with asyncio.timeout(timeout):
        while not await check():
            await asyncio.sleep(0.02)


def _embedded(fake: FakeLLM, model: str, dimensions: int) -> set[str]:
    return {
        text
        for r in fake.requests
        if r.path == "/v1/embeddings"
        and r.json["model"] == model
        and r.json.get("dimensions") == dimensions
        for text in r.json["input"]
    }


async def test_a_new_embedding_model_re_embeds_and_search_reads_stale_chunks_by_text(
    browser: AsyncClient,
    fake_llm: FakeLLM,
    resources: Resources,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(resources.settings, "embedding_batch_size", 2)  # several batches
    provider = await create_fake_provider(browser, fake_llm, is_default=True)
    url = f"{API}/providers/{provider['id']}"
    await browser.put(url, json={"embedding_model": "embed-a", "embedding_dimensions": 16})
    kb = await make_kb(browser)
    for name, data in ANIMALS.items():
        await indexed(browser, kb["id"], name, data)
    assert (await query(browser, kb["id"], "owls hunting mice"))["method"] == "hybrid"

    held, release = asyncio.Event(), asyncio.Event()
    original = reembed.reembed

    async def gated(res: Resources, kb_id: uuid.UUID, user_id: uuid.UUID) -> int:
        held.set()
        await release.wait()
        return await original(res, kb_id, user_id)

    monkeypatch.setattr(reembed, "reembed", gated)
    changed = await browser.put(url, json={"embedding_model": "embed-b"})
    assert changed.status_code == 200
    async with asyncio.timeout(10):
        await held.wait()
    # Job not done: the chunks carry embed-a, so the query is answered by text alone.
    stale = await query(browser, kb["id"], "owls hunting mice")
    assert stale["method"] == "text"
    assert stale["results"][0]["document_name"] == "owls.txt"
    assert await _models(browser, kb["id"]) == {"embed-a"}

    release.set()
    await _until(lambda: _is(browser, kb["id"], {"embed-b"}))
    assert _embedded(fake_llm, "embed-b", 16) >= {d.decode() for d in ANIMALS.values()}
    found = await query(browser, kb["id"], "otters sleep holding hands")
    assert found["method"] == "hybrid"
    assert found["results"][0]["document_name"] == "otters.txt"

    # Only the length changes: re-embedded at 24; until then a 24-long query vector matches
    # no chunk (never mixed with the 16-long ones).
    monkeypatch.setattr(reembed, "reembed", original)
    await browser.put(url, json={"embedding_dimensions": 24})
    texts = {d.decode() for d in ANIMALS.values()}

    async def all_at_24() -> bool:  # (hybrid comes with the first chunk re-embedded)
        return _embedded(fake_llm, "embed-b", 24) >= texts and await _method(
            browser, kb["id"], "hybrid"
        )

    await _until(all_at_24)

    # Another default provider with another model: re-embedded with that one.
    await create_fake_provider(browser, fake_llm, name="Second", is_default=True)
    second = (await browser.get(f"{API}/providers")).json()["data"]
    other = next(p for p in second if p["name"] == "Second")
    before = len(fake_llm.requests)
    await browser.put(f"{API}/providers/{other['id']}", json={"embedding_model": "embed-c"})
    await _until(lambda: _is(browser, kb["id"], {"embed-c"}))
    assert (await query(browser, kb["id"], "barn owls"))["method"] == "hybrid"
    assert any(r.json.get("model") == "embed-c" for r in fake_llm.requests[before:])


async def test_setting_no_model_or_the_same_one_re_embeds_nothing(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    provider = await create_fake_provider(browser, fake_llm, is_default=True)
    url = f"{API}/providers/{provider['id']}"
    await browser.put(url, json={"embedding_model": "embed-a", "embedding_dimensions": 16})
    kb = await make_kb(browser)
    await indexed(browser, kb["id"], "otters.txt", ANIMALS["otters.txt"])
    before = len(fake_llm.requests)
    await browser.put(url, json={"name": "Renamed", "embedding_model": "embed-a"})
    await browser.put(url, json={"embedding_model": None})  # no model: full text only
    assert (await query(browser, kb["id"], "otters"))["method"] == "text"
    assert [r for r in fake_llm.requests[before:] if r.path == "/v1/embeddings"] == []
    assert await _models(browser, kb["id"]) == {"embed-a"}


async def _is(client: AsyncClient, kb_id: str, models: set[str | None]) -> bool:
    return await _models(client, kb_id) == models


async def _method(client: AsyncClient, kb_id: str, method: str) -> bool:
    return bool((await query(client, kb_id, "owls hunting mice"))["method"] == method)
