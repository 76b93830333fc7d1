"""Search: full-text without an embedding model, hybrid (reciprocal rank fusion) with one on
the fake OpenAI-compatible `/embeddings`; query syntax characters are plain words; only the
caller's knowledge bases are searched, and only members may write."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedInFactory, add_member, assert_error, new_project
from tests.knowledge.util import indexed, make_kb, query, upload, wait_done

pytestmark = pytest.mark.usefixtures("run_worker")

ANIMALS = {
    "otters.txt": b"Sea otters hold hands while they sleep so they do not drift apart.",
    "owls.txt": b"Barn owls hunt at night and hear mice moving under snow.",
    "ants.txt": b"Leafcutter ants farm a fungus in their underground gardens.",
}


async def _animals(client: AsyncClient) -> dict[str, Any]:
    kb = await make_kb(client)
    for name, data in ANIMALS.items():
        await indexed(client, kb["id"], name, data)
    return kb


async def test_hybrid_search_with_an_embedding_model(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    without = await _animals(browser)
    found = await query(browser, without["id"], "owls hunting mice")
    assert found["method"] == "text"
    assert found["results"][0]["document_name"] == "owls.txt"

    await create_fake_provider(browser, fake_llm, is_default=True)
    provider = (await browser.get(f"{API}/providers")).json()["data"][0]
    changed = await browser.put(
        f"{API}/providers/{provider['id']}",
        json={"embedding_model": "fake-embed", "embedding_dimensions": 48},
    )
    assert changed.status_code == 200 and changed.json()["embedding_model"] == "fake-embed"
    # Chunks indexed before the model was set have no vectors: still full-text there.
    assert (await query(browser, without["id"], "owls"))["method"] == "text"

    kb = await _animals(browser)
    documents = (await browser.get(f"{API}/knowledge-bases/{kb['id']}/documents")).json()
    assert {d["embedding_model"] for d in documents["data"]} == {"fake-embed"}
    embedded = [r for r in fake_llm.requests if r.path == "/v1/embeddings"]
    assert embedded and all(r.json["dimensions"] == 48 for r in embedded)
    assert all(r.json["model"] == "fake-embed" for r in embedded)

    found = await query(browser, kb["id"], "otters sleep holding hands", top_k=2)
    assert found["method"] == "hybrid"
    assert found["results"][0]["document_name"] == "otters.txt"
    assert len(found["results"]) == 2
    best = found["results"][0]
    assert best["score"] == pytest.approx(2 / 61)  # first in both rankings: 1/(60+1) twice
    assert "otters" in best["text"] and best["position"] == 0
    # No word to search by text: vectors alone answer.
    assert (await query(browser, kb["id"], "?!")).get("method") == "vector"
    across = await browser.get(f"{API}/documents/search", params={"q": "barn owls"})
    assert across.status_code == 200 and across.json()["method"] == "hybrid"
    assert across.json()["results"][0]["document_name"] == "owls.txt"


async def test_a_failing_embedding_provider_fails_the_document_with_its_reason(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)
    provider = await create_fake_provider(browser, fake_llm, is_default=True)
    await browser.put(f"{API}/providers/{provider['id']}", json={"embedding_model": "embed-error"})
    kb = await make_kb(browser)
    response = await upload(browser, kb["id"], "otters.txt", ANIMALS["otters.txt"])
    document = await wait_done(browser, response.json()["id"])
    assert document["status"] == "failed" and "answered 500" in document["error"], document


async def test_query_syntax_characters_are_plain_words(browser: AsyncClient) -> None:
    kb = await _animals(browser)
    for text in ['"otters', "otters*", "NEAR(otters", "otters:", "-(", "AND OR NOT", "')--", "&|!"]:
        found = await query(browser, kb["id"], text)
        assert found["method"] == "text"
        if "otters" in text:
            assert found["results"][0]["document_name"] == "otters.txt", text
    searched = await browser.get(f"{API}/documents/search", params={"q": '"*:(^'})
    assert searched.status_code == 200 and searched.json()["results"] == []


async def test_another_users_knowledge_bases_are_not_found(
    signed_in: SignedInFactory,
) -> None:
    owner, stranger = await signed_in(), await signed_in()
    kb = await _animals(owner.browser)
    document = (await owner.browser.get(f"{API}/documents")).json()["data"][0]
    paths = [
        ("GET", f"/knowledge-bases/{kb['id']}", None),
        ("PUT", f"/knowledge-bases/{kb['id']}", {"name": "Mine"}),
        ("DELETE", f"/knowledge-bases/{kb['id']}", None),
        ("GET", f"/knowledge-bases/{kb['id']}/documents", None),
        ("DELETE", f"/knowledge-bases/{kb['id']}/documents/{document['id']}", None),
        ("POST", f"/knowledge-bases/{kb['id']}/query", {"query": "otters"}),
        ("GET", f"/documents/{document['id']}", None),
        ("GET", f"/documents/{document['id']}/download", None),
    ]
    for client in stranger.clients().values():
        for method, path, body in paths:
            response = await client.request(method, API + path, json=body)
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
        sent = await upload(client, kb["id"], "x.txt", b"mine now")
        assert_error(sent, 404, "RESOURCE_NOT_FOUND")
        assert (await client.get(f"{API}/documents")).json()["data"] == []
        assert (await client.get(f"{API}/knowledge-bases")).json()["data"] == []
        mine = (await client.get(f"{API}/documents/search", params={"q": "otters"})).json()
        assert mine["results"] == []
    # Nothing the stranger sent changed the owner's knowledge base or document.
    kept = await owner.browser.get(f"{API}/knowledge-bases/{kb['id']}")
    assert kept.status_code == 200 and kept.json()["name"] == kb["name"]
    listed = (await owner.browser.get(f"{API}/knowledge-bases/{kb['id']}/documents")).json()
    assert len(listed["data"]) == len(ANIMALS)
    assert (await query(owner.browser, kb["id"], "otters"))["results"]


async def test_a_viewer_reads_and_queries_but_cannot_write(signed_in: SignedInFactory) -> None:
    owner, viewer = await signed_in(), await signed_in()
    project = await new_project(owner.browser, "Shared")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    kb = await make_kb(owner.browser, project_id=project)
    document = await indexed(owner.browser, kb["id"], "otters.txt", ANIMALS["otters.txt"])
    client = viewer.api
    assert (await client.get(f"{API}/knowledge-bases/{kb['id']}")).status_code == 200
    assert (await query(client, kb["id"], "otters"))["results"][0]["document_id"] == document["id"]
    assert (await client.get(f"{API}/documents/{document['id']}/download")).status_code == 200
    writes = [
        await client.put(f"{API}/knowledge-bases/{kb['id']}", json={"name": "Viewer's"}),
        await client.delete(f"{API}/knowledge-bases/{kb['id']}"),
        await upload(client, kb["id"], "owls.txt", ANIMALS["owls.txt"]),
        await client.delete(f"{API}/knowledge-bases/{kb['id']}/documents/{document['id']}"),
        await client.post(f"{API}/knowledge-bases", json={"name": "New", "project_id": project}),
    ]
    for response in writes:
        assert_error(response, 403, "FORBIDDEN")


async def test_new_chunk_settings_index_every_document_again(browser: AsyncClient) -> None:
    kb = await make_kb(browser, chunk_size=512, chunk_overlap=0)
    long_text = "\n\n".join(f"Paragraph {i} tells of the lighthouse keeper." * 3 for i in range(40))
    document = await indexed(browser, kb["id"], "keeper.txt", long_text.encode())
    changed = await browser.put(
        f"{API}/knowledge-bases/{kb['id']}", json={"chunk_size": 64, "chunk_overlap": 8}
    )
    assert changed.status_code == 200 and changed.json()["chunk_size"] == 64
    again = await wait_done(browser, document["id"])
    assert again["status"] == "ready" and again["chunks_total"] > document["chunks_total"]
    refused = await browser.put(f"{API}/knowledge-bases/{kb['id']}", json={"chunk_overlap": 40})
    assert_error(refused, 422, "VALIDATION_ERROR")


async def test_a_common_word_ranks_the_chunks_that_repeat_it_most_first(
    browser: AsyncClient,
) -> None:
    """70 chunks of 20 words, each naming "kiwi": 60 of them twice or more (enough for
    PostgreSQL to rank those alone first), 10 once. The most repeats come first; equal ones in
    the document's order."""
    filler = [
        "stone",
        "river",
        "cloud",
        "maple",
        "harbor",
        "violet",
        "copper",
        "meadow",
        "lantern",
        "pebble",
    ]
    repeats = {10: 5, 40: 4, 25: 3} | {n: 1 for n in range(60, 70)}
    paragraphs = []
    for n in range(70):
        count = repeats.get(n, 2)
        words = ["kiwi"] * count + [filler[(n + i) % len(filler)] for i in range(20 - count)]
        paragraphs.append(" ".join(words).capitalize() + ".")
    kb = await make_kb(browser, chunk_size=32, chunk_overlap=0)
    document = await indexed(browser, kb["id"], "kiwis.txt", "\n\n".join(paragraphs).encode())
    assert document["chunks_total"] == 70
    found = await query(browser, kb["id"], "kiwi", top_k=5)
    assert found["method"] == "text"
    assert [hit["position"] for hit in found["results"]] == [10, 40, 25, 0, 1]
