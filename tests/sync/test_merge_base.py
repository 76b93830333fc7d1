"""sync/prepare's merge base: the first rule of API.md's list that applies."""

from __future__ import annotations

from typing import Any

from httpx import AsyncClient

from tests.helpers import API, new_project
from tests.sync.util import execute, forked, prepare, set_tree, upload
from tests.workspaces.util import new_snapshot, new_workspace


async def set_main(client: AsyncClient, workspace_id: str) -> None:
    response = await client.post(f"{API}/workspaces/{workspace_id}/set-as-main")
    assert response.status_code == 200, response.text


async def snapshot_of(
    client: AsyncClient, project_id: str, tree: dict[str, bytes], workspace_id: str | None
) -> dict[str, Any]:
    extra = {"workspace_id": workspace_id} if workspace_id else {}
    return await new_snapshot(client, project_id, await upload(client, dict(tree)), **extra)


async def test_last_merged_snapshot_comes_first(browser: AsyncClient) -> None:
    scene = await forked(browser, {"a": b"1\n"}, {"a": b"2\n"}, {"a": b"1\n", "b": b"mine\n"})
    first = await prepare(browser, scene.workspace_id)
    assert first["merge_base_rule"] == "fork_point"
    assert (await execute(browser, scene.workspace_id, first["id"])).status_code == 200
    # Main moves on; the workspace's fork point would call `a` changed on both sides.
    await set_tree(browser, scene.main_id, {"a": b"3\n"})
    second = await prepare(browser, scene.workspace_id)
    assert second["merge_base_rule"] == "last_merged"
    assert second["base_snapshot_id"] != scene.base_snapshot_id
    assert {a["path"]: a["action"] for a in second["auto_actions"]} == {
        "a": "copy_from_main",
        "b": "keep_workspace",
    }
    assert second["decisions_needed"] == []


async def test_fork_point_when_main_forked_from_this_workspace(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    first = str((await new_workspace(browser, project_id, "first"))["id"])
    mine = str((await new_workspace(browser, project_id, "mine"))["id"])
    snapshot = await snapshot_of(browser, project_id, {"a": b"1\n"}, mine)
    fork = str(
        (await new_workspace(browser, project_id, "fork", base_snapshot_id=snapshot["id"]))["id"]
    )
    await set_main(browser, fork)
    await set_tree(browser, fork, {"a": b"2\n"})
    await set_tree(browser, mine, {"a": b"1\n"})
    preview = await prepare(browser, mine)
    assert (preview["merge_base_rule"], preview["base_snapshot_id"]) == (
        "fork_point",
        snapshot["id"],
    )
    assert preview["files_to_update"] == ["a"]
    assert first  # the project's first workspace, main before the fork took over


async def test_siblings_use_the_earlier_base_snapshot(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    origin = str((await new_workspace(browser, project_id, "origin"))["id"])
    older = await snapshot_of(browser, project_id, {"a": b"1\n"}, origin)
    newer = await snapshot_of(browser, project_id, {"a": b"1\n", "b": b"1\n"}, origin)
    mine = str(
        (await new_workspace(browser, project_id, "mine", base_snapshot_id=newer["id"]))["id"]
    )
    sibling = str(
        (await new_workspace(browser, project_id, "sib", base_snapshot_id=older["id"]))["id"]
    )
    await set_main(browser, sibling)
    await set_tree(browser, sibling, {"a": b"1\n", "b": b"1\n"})
    await set_tree(browser, mine, {"a": b"1\n"})
    preview = await prepare(browser, mine)
    assert (preview["merge_base_rule"], preview["base_snapshot_id"]) == (
        "sibling_base",
        older["id"],
    )
    # Over the older base, `b` is new in main (over the newer one it would be deleted here).
    assert preview["files_to_add"] == ["b"]


async def test_this_workspaces_base_snapshot_then_empty(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    main = str((await new_workspace(browser, project_id, "main"))["id"])
    loose = await snapshot_of(browser, project_id, {"a": b"1\n"}, None)
    based = str(
        (await new_workspace(browser, project_id, "based", base_snapshot_id=loose["id"]))["id"]
    )
    bare = str((await new_workspace(browser, project_id, "bare"))["id"])
    await set_tree(browser, main, {"a": b"2\n", "n": b"new\n"})
    for workspace in (based, bare):
        await set_tree(browser, workspace, {"a": b"1\n"})
    preview = await prepare(browser, based)
    assert (preview["merge_base_rule"], preview["base_snapshot_id"]) == (
        "workspace_base",
        loose["id"],
    )
    assert preview["files_to_update"] == ["a"]
    # No base: two-way. Only in main is an add; different on both sides is a conflict.
    preview = await prepare(browser, bare)
    assert (preview["merge_base_rule"], preview["base_snapshot_id"]) == ("empty", None)
    assert preview["files_to_add"] == ["n"]
    assert [(d["path"], d["conflict_reason"]) for d in preview["decisions_needed"]] == [
        ("a", "added on both sides; does not merge cleanly")
    ]
