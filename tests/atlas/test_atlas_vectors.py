"""Atlas embeddings on the fake OpenAI-compatible `/embeddings` (bag-of-words vectors, 64
dimensions): `index?embed=true` embeds every concept's text in batches and stores the vectors
with their model and dimension; search fuses text and vectors (`hybrid`) and finds a concept
only its vector matches; no embedding model is 422; a failing provider keeps the old graph;
another user reaches no atlas route by any way of signing in."""

from __future__ import annotations

import math
import zlib
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.knowledge.reembed import PROBE
from orbiter.runtime.resources import Resources
from tests.atlas.util import PROJECTS, snapshot
from tests.fakes.llm_servers import EMBEDDING_DIMENSIONS, FakeLLM, create_fake_provider
from tests.helpers import SignedInFactory, assert_error, new_project

TREE = {
    "shop/warehouse.py": b'"""Goods on shelves."""\n\n\nclass Warehouse:\n    """Holds the stock."""\n',
    "shop/cart.py": (
        b'"""What a customer buys."""\n\n\nclass Cart:\n    """Items picked."""\n\n\n'
        b'def checkout(cart: Cart) -> None:\n    """Settles the cart."""\n'
    ),
}
# The fake's vectors put "depot" on the component of "warehouse" (as a real model puts
# synonyms close): a query for a depot finds the warehouse by vector, never by text.
SYNONYM, WORD = "depot", "warehouse"


async def _with_embedding_model(client: AsyncClient, fake: FakeLLM, model: str) -> str:
    provider = await create_fake_provider(client, fake, is_default=True)
    changed = await client.put(
        f"/api/v1/providers/{provider['id']}", json={"embedding_model": model}
    )
    assert changed.status_code == 200, changed.text
    return str(provider["id"])


async def _search(client: AsyncClient, project_id: str, query: str) -> dict[str, Any]:
    response = await client.post(f"{PROJECTS}/{project_id}/atlas/search", json={"query": query})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def _concepts(client: AsyncClient, project_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"{PROJECTS}/{project_id}/atlas")
    assert response.status_code == 200, response.text
    return response.json()["concepts"]  # type: ignore[no-any-return]


async def test_embedded_concepts_are_searched_by_text_and_vector(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert zlib.crc32(SYNONYM.encode()) % 64 == zlib.crc32(WORD.encode()) % 64
    monkeypatch.setattr(resources.settings, "embedding_batch_size", 2)
    project_id = await new_project(browser, "Shop")
    await snapshot(browser, project_id, TREE)
    provider_id = await _with_embedding_model(browser, fake_llm, "fake-embed")
    url = f"{PROJECTS}/{project_id}/atlas"

    plain = await browser.post(f"{url}/index")
    assert plain.status_code == 200 and plain.json()["embeddings_created"] == 0
    found = await _search(browser, project_id, f"cart {SYNONYM}")
    assert found["method"] == "text"
    assert "Warehouse" not in [hit["name"] for hit in found["results"]]
    assert (await _search(browser, project_id, SYNONYM)) == {"method": "text", "results": []}

    before = len(fake_llm.requests)
    indexed = await browser.post(f"{url}/index", params={"embed": "true"})
    assert indexed.status_code == 200, indexed.text
    created = indexed.json()["concepts_created"]
    assert indexed.json()["embeddings_created"] == created == 6  # 1 system, 2 modules, 3 code
    # (the knowledge domain may probe the new model's length meanwhile, in the background)
    calls = [
        r.json
        for r in fake_llm.requests[before:]
        if r.path == "/v1/embeddings" and r.json["input"] != [PROBE]
    ]
    assert len(calls) == math.ceil(created / 2)  # in batches of embedding_batch_size
    assert all(call["model"] == "fake-embed" and len(call["input"]) <= 2 for call in calls)
    texts = [text for call in calls for text in call["input"]]
    assert "class Warehouse in shop/warehouse.py: Holds the stock." in texts
    assert "function checkout in shop/cart.py: Settles the cart." in texts
    concepts = await _concepts(browser, project_id)
    assert {(c["embedding_model"], c["embedding_dimensions"]) for c in concepts} == {
        ("fake-embed", EMBEDDING_DIMENSIONS)
    }

    by_meaning = await _search(browser, project_id, SYNONYM)
    assert by_meaning["method"] == "hybrid"
    assert [(h["name"], h["layer"]) for h in by_meaning["results"]][:2] == [
        ("Warehouse", "class"),
        ("shop/warehouse.py", "module"),
    ]
    both = await _search(browser, project_id, f"cart {SYNONYM}")
    assert both["method"] == "hybrid"
    names = [hit["name"] for hit in both["results"]]
    # Cart is first in both rankings; the warehouse, found only by its vector, ranks below.
    assert names[0] == "Cart" and "Warehouse" in names
    assert names.index("Warehouse") > names.index("shop/cart.py")
    # Reciprocal rank fusion (k = 60): in both rankings, more than one ranking alone can give.
    by_name = {hit["name"]: hit["score"] for hit in both["results"]}
    assert by_name["Cart"] > 1 / 61 >= by_name["Warehouse"]
    scores = [hit["score"] for hit in both["results"]]
    assert scores == sorted(scores, reverse=True)

    # Another embedding model did not embed these concepts: text only until re-indexed.
    await browser.put(f"/api/v1/providers/{provider_id}", json={"embedding_model": "other"})
    assert (await _search(browser, project_id, "cart"))["method"] == "text"
    # A plain re-index drops the vectors with the old graph.
    await browser.put(f"/api/v1/providers/{provider_id}", json={"embedding_model": "fake-embed"})
    assert (await browser.post(f"{url}/index")).json()["embeddings_created"] == 0
    assert {c["embedding_model"] for c in await _concepts(browser, project_id)} == {None}
    assert (await _search(browser, project_id, "cart"))["method"] == "text"


async def test_embed_without_a_model_is_422_and_a_failing_provider_keeps_the_graph(
    browser: AsyncClient, fake_llm: FakeLLM, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "llm_max_retries", 0)
    project_id = await new_project(browser, "Shop")
    await snapshot(browser, project_id, TREE)
    url = f"{PROJECTS}/{project_id}/atlas"
    assert (await browser.post(f"{url}/index")).status_code == 200
    before = await _concepts(browser, project_id)

    refused = await browser.post(f"{url}/index", params={"embed": "true"})
    assert_error(refused, 422, "VALIDATION_ERROR")
    assert "embedding_model" in refused.json()["error"]["message"]
    provider = await create_fake_provider(browser, fake_llm, is_default=True)  # no model yet
    refused = await browser.post(f"{url}/index", params={"embed": "true"})
    assert_error(refused, 422, "VALIDATION_ERROR")
    assert await _concepts(browser, project_id) == before

    await browser.put(
        f"/api/v1/providers/{provider['id']}", json={"embedding_model": "embed-error"}
    )
    failed = await browser.post(f"{url}/index", params={"embed": "true"})
    assert_error(failed, 502, "UPSTREAM_ERROR")
    assert await _concepts(browser, project_id) == before


async def test_another_user_reaches_no_atlas_route_by_any_sign_in(
    browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    project_id = await new_project(browser, "Shop")
    await snapshot(browser, project_id, TREE)
    url = f"{PROJECTS}/{project_id}/atlas"
    assert (await browser.post(f"{url}/index")).status_code == 200
    other = await signed_in()
    for method, client in other.clients().items():  # cookie, API key, bearer token
        answers = {
            "graph": await client.get(url),
            "index": await client.post(f"{url}/index"),
            "embed": await client.post(f"{url}/index", params={"embed": "true"}),
            "search": await client.post(f"{url}/search", json={"query": "cart"}),
            "diagrams": await client.get(f"{url}/diagrams"),
            "diagram": await client.post(f"{url}/diagrams", json={"type": "component"}),
        }
        for name, response in answers.items():
            assert_error(response, 404, "RESOURCE_NOT_FOUND")
            assert "Cart" not in response.text, (method, name)
    assert len(await _concepts(browser, project_id)) == 6
