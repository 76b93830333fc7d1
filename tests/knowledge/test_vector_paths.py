"""Vector search ranks chunks as an exact cosine scan does, whichever path runs: pgvector
inside PostgreSQL on the services backend (its PostgreSQL ships pgvector), the numpy scan on
SQLite, and the numpy scan on PostgreSQL too when `ORBITER_KNOWLEDGE_PGVECTOR` is off."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from httpx import AsyncClient
from sqlalchemy import text

from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider, fake_embedding
from tests.helpers import API
from tests.knowledge.util import indexed, make_kb, query

pytestmark = pytest.mark.usefixtures("run_worker")

AVAILABLE = "SELECT 1 FROM pg_available_extensions WHERE name = 'vector'"
DIMENSIONS = 64
NOTES = [
    "Sea otters hold hands while they sleep so they do not drift apart.",
    "Barn owls hunt at night and hear mice moving under snow.",
    "Leafcutter ants farm a fungus in their underground gardens.",
    "Star-nosed moles smell underwater by blowing bubbles.",
    "Octopuses taste with their arms and change colour in a blink.",
    "Honeybees dance to tell the hive where the flowers are.",
    "Arctic terns fly from pole to pole every single year.",
    "Wombats leave cube-shaped droppings to mark their ground.",
]
# No note has these words, so full text finds nothing and the vectors alone rank (`hybrid`
# of one ranking keeps its order); their fake embedding shares components with many notes.
QUERY = "sleepy nocturnal paddling colonies whiskers"


def _unit(text: str) -> np.ndarray:
    vector = np.asarray(fake_embedding(text, DIMENSIONS), np.float32)
    return vector / np.linalg.norm(vector)


def expected_order(texts_by_id: dict[int, str]) -> list[int]:
    """The exact cosine ranking, computed here: best first, ties by chunk id."""
    ids = sorted(texts_by_id)
    scores = np.stack([_unit(texts_by_id[i]) for i in ids]) @ _unit(QUERY)
    return [ids[row] for row in np.argsort(-scores, kind="stable")]


async def _ranked(
    browser: AsyncClient, kb_id: str, caplog: pytest.LogCaptureFixture
) -> tuple[list[int], dict[int, str], str]:
    caplog.clear()
    found = await query(browser, kb_id, QUERY, top_k=len(NOTES))
    assert found["method"] == "hybrid"
    paths = {r.getMessage().split(":")[0] for r in caplog.records if "vector ranking" in r.msg}
    assert len(paths) == 1, paths
    texts = {hit["chunk_id"]: hit["text"] for hit in found["results"]}
    return [hit["chunk_id"] for hit in found["results"]], texts, paths.pop()


async def test_the_vector_ranking_is_the_exact_cosine_scan_on_either_path(
    browser: AsyncClient,
    fake_llm: FakeLLM,
    resources: Resources,
    backend: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    caplog.set_level(logging.DEBUG, logger="orbiter.knowledge")
    provider = await create_fake_provider(browser, fake_llm, is_default=True)
    await browser.put(
        f"{API}/providers/{provider['id']}",
        json={"embedding_model": "fake-embed", "embedding_dimensions": DIMENSIONS},
    )
    kb = await make_kb(browser)
    for n, note in enumerate(NOTES):
        await indexed(browser, kb["id"], f"note-{n}.txt", note.encode())

    order, texts, path = await _ranked(browser, kb["id"], caplog)
    assert sorted(texts.values()) == sorted(NOTES)
    assert order == expected_order(texts)
    if backend == "embedded":
        assert path == "vector ranking by numpy"
        return
    async with resources.engine.connect() as conn:
        if await conn.scalar(text(AVAILABLE)) is None:
            pytest.skip("this PostgreSQL has no pgvector (scripts/run_tests.py: which one)")
    assert path == "vector ranking by pgvector"

    monkeypatch.setattr(resources.settings, "knowledge_pgvector", False)
    by_numpy, _, path = await _ranked(browser, kb["id"], caplog)
    assert path == "vector ranking by numpy" and by_numpy == order
