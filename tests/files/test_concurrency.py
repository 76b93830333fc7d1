"""Two clients on one working tree: no change is ever lost silently, and every version stays."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI
from httpx import AsyncClient, Response

from tests.files.util import FILES, content, create, files_of, text_of, update
from tests.helpers import API, add_member, assert_error, browser_for, new_project
from tests.workspaces.util import new_workspace, set_current

RACERS = 8


async def shared_workspace(app: FastAPI, owner: AsyncClient) -> tuple[str, AsyncClient]:
    """A project workspace of `owner`'s, and a second client: an editor of the project."""
    project_id = await new_project(owner)
    workspace = await new_workspace(owner, project_id, "web")
    editor, person = await browser_for(app)
    await add_member(owner, project_id, editor, person["email"], "editor")
    return str(workspace["id"]), editor


async def test_a_write_from_a_stale_base_is_refused_and_a_retry_keeps_both_changes(
    app: FastAPI, browser: AsyncClient
) -> None:
    workspace_id, editor = await shared_workspace(app, browser)
    first = await create(browser, "a.txt", "one", workspace_id)
    base = first["manifest_hash"]
    seen = (await content(editor, "a.txt", workspace_id)).json()
    assert seen["manifest_hash"] == base and seen["version"] == first["version"]

    mine = await update(browser, "a.txt", "two", workspace_id, base_manifest_hash=base)
    assert mine.status_code == 200, mine.text
    theirs = await editor.post(
        FILES,
        params={"workspace_id": workspace_id},
        json={"path": "b.txt", "content": "B", "base_manifest_hash": base},
    )
    details = assert_error(theirs, 409, "CONFLICT")["details"]
    assert details["current_manifest_hash"] == mine.json()["manifest_hash"]
    assert details["base_manifest_hash"] == base and details["version"] == mine.json()["version"]
    assert await files_of(editor, workspace_id) == {"a.txt"}  # nothing of theirs got in
    assert await text_of(editor, "a.txt", workspace_id) == "two"  # and nothing of mine lost

    fresh = (await content(editor, "a.txt", workspace_id)).json()["manifest_hash"]
    retry = await editor.post(
        FILES,
        params={"workspace_id": workspace_id},
        json={"path": "b.txt", "content": "B", "base_manifest_hash": fresh},
    )
    assert retry.status_code == 200, retry.text
    assert await files_of(browser, workspace_id) == {"a.txt", "b.txt"}
    assert await text_of(browser, "a.txt", workspace_id) == "two"
    await editor.aclose()


async def test_racing_writes_never_lose_an_acknowledged_one(
    app: FastAPI, browser: AsyncClient
) -> None:
    workspace_id, editor = await shared_workspace(app, browser)
    clients = [browser, editor]
    results = await asyncio.gather(
        *(
            create(clients[i % 2], f"racer-{i}.txt", f"content {i}", workspace_id)
            for i in range(RACERS)
        )
    )
    assert sorted(r["version"] for r in results) == list(range(1, RACERS + 1))
    assert await files_of(browser, workspace_id) == {f"racer-{i}.txt" for i in range(RACERS)}

    # From one base, exactly one of the racers gets in; the others hear 409 and lose nothing.
    current = (await content(browser, "racer-0.txt", workspace_id)).json()["manifest_hash"]
    responses: list[Response] = await asyncio.gather(
        *(
            update(
                clients[i % 2],
                f"racer-{i}.txt",
                "changed",
                workspace_id,
                base_manifest_hash=current,
            )
            for i in range(RACERS)
        )
    )
    won = [i for i, r in enumerate(responses) if r.status_code == 200]
    assert len(won) == 1, [r.text for r in responses]
    for response in responses:
        assert response.status_code in (200, 409), response.text
    for i in range(RACERS):
        expected = "changed" if i in won else f"content {i}"
        assert await text_of(browser, f"racer-{i}.txt", workspace_id) == expected
    await editor.aclose()


async def test_every_version_is_kept_as_a_snapshot(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    workspace = await new_workspace(browser, project_id, "cli")
    workspace_id = str(workspace["id"])
    # A CLI set the first version; the files API never moves away from it without keeping it.
    cli_manifest = await set_current(browser, workspace_id, {"from-cli.txt": b"cli"})
    v1 = await create(browser, "a.txt", "one", workspace_id)
    v2 = (await update(browser, "a.txt", "two", workspace_id)).json()

    listed = await browser.get(f"{API}/workspaces/{workspace_id}/snapshots")
    snapshots = listed.json()["data"]  # newest first
    assert [s["manifest_hash"] for s in snapshots] == [
        v2["manifest_hash"],
        v1["manifest_hash"],
        cli_manifest,
    ]
    assert [s["id"] for s in snapshots[:2]] == [v2["snapshot_id"], v1["snapshot_id"]]
    assert {s["source"] for s in snapshots} == {"files"}
    assert snapshots[0]["parent_snapshot_ids"] == [snapshots[1]["id"]]
    assert snapshots[1]["parent_snapshot_ids"] == [snapshots[2]["id"]]

    diff = (await browser.get(f"{API}/snapshots/{v1['snapshot_id']}/diff")).json()
    assert (diff["added"], diff["modified"], diff["deleted"]) == (["a.txt"], [], [])
    old = await browser.get(f"{API}/blobs/manifests/{v1['manifest_hash']}")
    assert old.status_code == 200, old.text
    [entry] = [f for f in old.json()["files"] if f["path"] == "a.txt"]
    old_blob = await browser.get(f"{API}/blobs/download/{entry['hash']}")
    assert old_blob.content == b"one"
    assert await text_of(browser, "a.txt", workspace_id) == "two"
    assert await text_of(browser, "from-cli.txt", workspace_id) == "cli"


async def _personal_workspaces(client: AsyncClient) -> list[dict[str, Any]]:
    projects = (await client.get(f"{API}/projects")).json()["data"]
    [personal] = [p for p in projects if p["is_personal"]]
    listed = await client.get(f"{API}/projects/{personal['id']}/workspaces")
    return listed.json()["data"]  # type: ignore[no-any-return]


async def test_the_scratch_workspace_is_made_once_by_racing_first_writes(
    browser: AsyncClient,
) -> None:
    assert await _personal_workspaces(browser) == []
    results = await asyncio.gather(
        *(create(browser, f"first-{i}.txt", str(i)) for i in range(RACERS))
    )
    [scratch] = await _personal_workspaces(browser)
    assert scratch["name"] == "scratch"
    assert {r["workspace_id"] for r in results} == {scratch["id"]}
    assert await files_of(browser) == {f"first-{i}.txt" for i in range(RACERS)}
    assert await files_of(browser, scratch["id"]) == await files_of(browser)
