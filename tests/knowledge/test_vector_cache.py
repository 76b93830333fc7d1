"""Search stays exact while each process keeps the vectors in memory: a deleted document's
chunks are never found (deleted through the API, or straight in the database as another
process would), a new document is found at once, vectors changed in place are searched as
they now are; and a knowledge base holding few of the best full-text matches of the whole
index still finds its own."""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest
from httpx import AsyncClient
from sqlalchemy import delete, update

from orbiter.knowledge.embeddings import normalized, to_bytes
from orbiter.models import Document, KnowledgeChunk
from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider, fake_embedding
from tests.helpers import API
from tests.knowledge.util import indexed, make_kb, query

pytestmark = pytest.mark.usefixtures("run_worker")

ANIMALS = {
    "otters.txt": b"Sea otters hold hands while they sleep so they do not drift apart.",
    "owls.txt": b"Barn owls hunt at night and hear mice moving under snow.",
    "ants.txt": b"Leafcutter ants farm a fungus in their underground gardens.",
}
DIMENSIONS = 48


async def _embedding_kb(
    client: AsyncClient, fake: FakeLLM
) -> tuple[dict[str, Any], dict[str, str]]:
    """A knowledge base of the three animals, embedded; their document ids by name."""
    provider = await create_fake_provider(client, fake, is_default=True)
    await client.put(
        f"{API}/providers/{provider['id']}",
        json={"embedding_model": "fake-embed", "embedding_dimensions": DIMENSIONS},
    )
    kb = await make_kb(client)
    ids = {
        name: (await indexed(client, kb["id"], name, data))["id"] for name, data in ANIMALS.items()
    }
    return kb, ids


def _names(found: dict[str, Any]) -> list[str]:
    return [hit["document_name"] for hit in found["results"]]


async def test_a_vector_query_never_returns_a_deleted_chunk(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources
) -> None:
    kb, ids = await _embedding_kb(browser, fake_llm)
    found = await query(browser, kb["id"], "?!")  # no word: the vectors alone answer
    assert found["method"] == "vector" and sorted(_names(found)) == sorted(ANIMALS)

    await indexed(browser, kb["id"], "moles.txt", b"Star-nosed moles smell underwater.")
    assert sorted(_names(await query(browser, kb["id"], "?!"))) == sorted([*ANIMALS, "moles.txt"])

    deleted = await browser.delete(f"{API}/knowledge-bases/{kb['id']}/documents/{ids['owls.txt']}")
    assert deleted.status_code == 204
    left = ["ants.txt", "moles.txt", "otters.txt"]
    assert sorted(_names(await query(browser, kb["id"], "?!"))) == left

    # Another process deletes one straight in the database: this one's cache sees it too.
    async with resources.engine.begin() as conn:
        await conn.execute(delete(Document).where(Document.id == uuid.UUID(ids["ants.txt"])))
    assert sorted(_names(await query(browser, kb["id"], "?!"))) == ["moles.txt", "otters.txt"]


async def test_vectors_changed_in_place_are_searched_as_they_now_are(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources
) -> None:
    kb, ids = await _embedding_kb(browser, fake_llm)
    before = await query(browser, kb["id"], "owls", top_k=3)
    assert before["method"] == "hybrid" and _names(before)[0] == "owls.txt"
    assert _names(before)[1] != "ants.txt" or before["results"][1]["score"] != pytest.approx(1 / 61)

    # Another process re-embeds the ants' chunk with exactly the query's vector: it is now
    # the best by vectors (1/61) though full text still does not find it.
    vector = normalized(np.asarray([fake_embedding("owls", DIMENSIONS)], np.float32))[0]
    async with resources.engine.begin() as conn:
        await conn.execute(
            update(KnowledgeChunk)
            .where(KnowledgeChunk.document_id == uuid.UUID(ids["ants.txt"]))
            .values(embedding=to_bytes(vector))
        )
    after = await query(browser, kb["id"], "owls", top_k=3)
    assert _names(after)[:2] == ["owls.txt", "ants.txt"]
    assert after["results"][0]["score"] == pytest.approx(1 / 61 + 1 / 62)
    assert after["results"][1]["score"] == pytest.approx(1 / 61)


async def test_a_knowledge_base_with_few_of_the_best_matches_still_finds_its_own(
    browser: AsyncClient,
) -> None:
    """Another knowledge base holds hundreds of chunks that rank above this one's: the
    search does not stop at the best matches of the whole index."""
    crowded = await make_kb(browser, name="Otter notes", chunk_size=32, chunk_overlap=0)
    lines = "\n\n".join(f"Otters otters otters, note {n}." for n in range(720))
    await indexed(browser, crowded["id"], "otters.txt", lines.encode())
    listed = (await browser.get(f"{API}/knowledge-bases/{crowded['id']}")).json()
    assert listed["chunk_count"] > 200

    kb = await make_kb(browser, name="Zoo")
    long = "A zoo keeps many animals and a pond with one otter among ducks and geese. " * 4
    await indexed(browser, kb["id"], "zoo.txt", long.encode())
    found = await query(browser, kb["id"], "otters")
    assert found["method"] == "text" and _names(found) == ["zoo.txt"]
