"""Every /providers/{id} route answers 404 to another user, whichever way they sign in."""

from __future__ import annotations

import pytest

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import SignedInFactory, assert_error

METHODS = ["cookie", "api_key", "bearer"]


@pytest.mark.parametrize("method", METHODS)
async def test_another_users_provider_is_not_found(
    signed_in: SignedInFactory, fake_llm: FakeLLM, method: str
) -> None:
    owner, intruder = await signed_in(), await signed_in()
    created = await create_fake_provider(owner.browser, fake_llm)
    pid = created["id"]
    client = intruder.clients()[method]
    assert_error(
        await client.put(f"/api/v1/providers/{pid}", json={"name": "mine"}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert_error(
        await client.put(f"/api/v1/providers/{pid}", json={"api_key": "sk-stolen-000000"}),
        404,
        "RESOURCE_NOT_FOUND",
    )
    assert_error(await client.post(f"/api/v1/providers/{pid}/test"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await client.delete(f"/api/v1/providers/{pid}"), 404, "RESOURCE_NOT_FOUND")
    assert (await client.get("/api/v1/providers")).json()["data"] == []
    body = {"messages": [{"role": "user", "content": "hi"}], "provider_id": pid}
    assert_error(await client.post("/api/v1/chat", json=body), 404, "RESOURCE_NOT_FOUND")
    # untouched, and never contacted
    [still] = (await owner.browser.get("/api/v1/providers")).json()["data"]
    assert still == created
    assert fake_llm.requests == []
