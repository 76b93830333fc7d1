"""POST /conversations/{id}/snapshot: the workspace's current files as a snapshot (a clean tree
records nothing), a summary by the caller's LLM when asked (503 without a provider), 409
without a workspace or files, 404 for another user whatever the credential."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedInFactory, assert_error, new_project
from tests.workspaces.util import new_workspace, set_current


async def conversation(client: AsyncClient, project_id: str, **extra: Any) -> str:
    response = await client.post(
        f"{API}/conversations", json={"project_id": project_id, "title": "Checkout", **extra}
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def snap(client: AsyncClient, conversation_id: str, **body: Any) -> dict[str, Any]:
    response = await client.post(f"{API}/conversations/{conversation_id}/snapshot", json=body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_snapshot_records_the_workspace_when_dirty_and_summarizes_on_request(
    browser: AsyncClient, fake_llm: FakeLLM
) -> None:
    project_id = await new_project(browser)
    workspace_id = str((await new_workspace(browser, project_id, "laptop"))["id"])
    bare = await conversation(browser, project_id)
    url = f"{API}/conversations/{bare}/snapshot"
    assert "workspace" in assert_error(await browser.post(url), 409, "CONFLICT")["message"]
    chat = await conversation(browser, project_id, workspace_id=workspace_id)
    empty = await browser.post(f"{API}/conversations/{chat}/snapshot", json={})
    assert_error(empty, 409, "CONFLICT")

    first_tree = await set_current(browser, workspace_id, {"a.txt": b"one\n"})
    first = await snap(browser, chat)
    assert (first["was_dirty"], first["manifest_hash"]) == (True, first_tree)
    assert (first["summary"], first["llm"]) == (None, None)
    stored = (await browser.get(f"{API}/snapshots/{first['snapshot_id']}")).json()["snapshot"]
    assert (stored["workspace_id"], stored["manifest_hash"]) == (workspace_id, first_tree)
    assert stored["source"] == "conversation"

    again = await snap(browser, chat)
    assert (again["was_dirty"], again["snapshot_id"]) == (False, first["snapshot_id"])

    no_llm = await browser.post(
        f"{API}/conversations/{chat}/snapshot", json={"generate_summary": True}
    )
    error = assert_error(no_llm, 503, "SERVICE_UNAVAILABLE")
    assert error["details"]["how_to_fix"]["path"] == "/api/v1/providers"

    await create_fake_provider(browser, fake_llm)
    second_tree = await set_current(browser, workspace_id, {"a.txt": b"two\n", "b.txt": b"b\n"})
    fake_llm.queue_reply("Add b.txt, change a.txt\n")
    second = await snap(browser, chat, generate_summary=True)
    assert second["was_dirty"] is True
    assert second["manifest_hash"] == second_tree
    assert second["summary"] == "Add b.txt, change a.txt"
    assert (second["llm"]["model"], second["llm"]["calls"]) == ("echo", 1)
    asked = [r for r in fake_llm.requests if r.path.endswith("/chat/completions")]
    prompt = asked[0].messages[-1]["content"]
    assert "Added:\nb.txt" in prompt and "Modified:\na.txt" in prompt and "+two" in prompt
    stored = (await browser.get(f"{API}/snapshots/{second['snapshot_id']}")).json()["snapshot"]
    assert stored["message"] == "Add b.txt, change a.txt"
    assert stored["parent_snapshot_ids"] == [first["snapshot_id"]]


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_another_user_cannot_snapshot_the_conversation(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project_id = await new_project(alice.browser)
    workspace_id = str((await new_workspace(alice.browser, project_id, "laptop"))["id"])
    await set_current(alice.browser, workspace_id, {"a.txt": b"a\n"})
    chat = await conversation(alice.browser, project_id, workspace_id=workspace_id)
    intruder = bob.clients()[method]
    response = await intruder.post(f"{API}/conversations/{chat}/snapshot", json={})
    assert_error(response, 404, "RESOURCE_NOT_FOUND")
    listed = await alice.browser.get(f"{API}/projects/{project_id}/snapshots")
    assert listed.json()["data"] == []
