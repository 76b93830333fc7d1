"""GET /conversations/{id}/timeline: the workspace's snapshots and the conversation's
deployments among its messages in time order; paging by messages yields each event once;
404 for another user."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.fakes.llm_servers import FakeLLM, create_fake_provider
from tests.helpers import API, SignedInFactory, assert_error, new_project
from tests.workspaces.util import new_workspace, set_current


async def _say(client: AsyncClient, cid: str, content: str) -> None:
    response = await client.post(f"{API}/conversations/{cid}/messages", json={"content": content})
    assert response.status_code == 200, response.text


async def _pages(client: AsyncClient, cid: str, limit: int) -> list[list[dict[str, Any]]]:
    pages, params = [], {"limit": limit}
    while True:
        response = await client.get(f"{API}/conversations/{cid}/timeline", params=params)
        assert response.status_code == 200, response.text
        pages.append(response.json()["data"])
        cursor = response.json()["pagination"]["next_cursor"]
        if cursor is None:
            return pages
        params = {"limit": limit, "cursor": cursor}


async def _deployment_status(client: AsyncClient, cid: str) -> str:
    [deployment] = (await client.get(f"{API}/conversations/{cid}/deployments")).json()["data"]
    return str(deployment["status"])


def _key(entry: dict[str, Any]) -> tuple[str, str, str]:
    return (entry["kind"], entry["id"], entry["at"])


def _labels(entries: list[dict[str, Any]]) -> list[str]:
    return [e["content"] if e["kind"] == "message" else e["kind"] for e in entries]


async def test_snapshots_and_deployments_join_the_timeline_once_each(
    signed_in: SignedInFactory, fake_llm: FakeLLM
) -> None:
    alice, bob = await signed_in(), await signed_in()
    client = alice.browser
    await create_fake_provider(client, fake_llm)
    project_id = await new_project(client)
    workspace_id = str((await new_workspace(client, project_id, "main"))["id"])
    tree = await set_current(client, workspace_id, {"index.html": b"<h1>hi</h1>"})
    created = await client.post(
        f"{API}/conversations", json={"project_id": project_id, "workspace_id": workspace_id}
    )
    cid = created.json()["id"]
    await _say(client, cid, "m0")
    snapshot = await client.post(f"{API}/conversations/{cid}/snapshot", json={})
    assert snapshot.status_code == 200, snapshot.text
    await _say(client, cid, "m1")
    deployment = await client.post(f"{API}/conversations/{cid}/deploy")
    assert deployment.status_code == 201, deployment.text
    await _say(client, cid, "m2")

    # The pipeline may move the deployment on meanwhile (embedded runs it in process).
    before = await _deployment_status(client, cid)
    [whole] = await _pages(client, cid, 100)
    after = await _deployment_status(client, cid)
    assert _labels(whole) == [
        "m0", "Echo: m0", "snapshot", "m1", "Echo: m1", "deployment", "m2", "Echo: m2"
    ]  # fmt: skip
    snap, deployed = whole[2], whole[5]
    assert snap["id"] == snapshot.json()["snapshot_id"]
    assert (snap["manifest_hash"], snap["message_id"], snap["role"]) == (tree, None, None)
    assert snap["message"].startswith("Snapshot from the conversation")
    assert deployed["id"] == deployment.json()["id"]
    assert (deployed["trigger"], deployed["manifest_hash"]) == ("conversation", tree)
    assert deployed["status"] in {before, after}
    assert [e["at"] for e in whole] == sorted(e["at"] for e in whole)

    for limit in (1, 2, 3, 4):
        pages = await _pages(client, cid, limit)
        assert [_key(e) for page in pages for e in page] == [_key(e) for e in whole], limit
    assert [_labels(page) for page in await _pages(client, cid, 2)] == [
        ["m0", "Echo: m0", "snapshot"],
        ["m1", "Echo: m1", "deployment"],
        ["m2", "Echo: m2"],
    ]

    hidden = await bob.browser.get(f"{API}/conversations/{cid}/timeline")
    assert_error(hidden, 404, "RESOURCE_NOT_FOUND")
