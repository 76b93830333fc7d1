"""Workspaces: create (the first is main), list, get, rename/move, delete, main, heartbeat,
their snapshots, and who may do what."""

from __future__ import annotations

import uuid

from httpx import AsyncClient

from tests.blobs.util import upload_tree
from tests.helpers import (
    API,
    SignedInFactory,
    add_member,
    assert_error,
    assert_missing_reference,
    iso_time,
    new_project,
)
from tests.workspaces.util import events, new_snapshot, new_workspace


async def test_the_first_workspace_becomes_main_and_later_ones_do_not(browser: AsyncClient) -> None:
    project = await new_project(browser)
    first = await new_workspace(
        browser, project, "laptop", machine_id="mbp-1", local_path="/home/me/apollo"
    )
    second = await new_workspace(browser, project, "desktop")
    assert first["is_main"] is True and second["is_main"] is False
    assert first["project_id"] == project
    assert first["machine_id"] == "mbp-1"
    assert first["local_path"] == "/home/me/apollo"
    assert first["current_manifest_hash"] is None
    assert first["version"] == 0
    assert first["last_seen_at"] is None
    assert first["created_at"] == first["updated_at"]
    types = [e["type"] for e in await events(browser, project)]
    assert types.count("workspace.created") == 2


async def test_a_duplicate_name_in_the_same_project_is_409_and_creates_nothing(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    await new_workspace(browser, project, "laptop")
    error = assert_error(
        await browser.post(f"{API}/projects/{project}/workspaces", json={"name": "laptop"}),
        409,
        "CONFLICT",
    )
    assert error["details"]["field"] == "name"
    listing = (await browser.get(f"{API}/projects/{project}/workspaces")).json()
    assert listing["pagination"]["total"] == 1
    # The same name in another project is fine.
    other = await new_project(browser, "Other")
    await new_workspace(browser, other, "laptop")


async def test_bad_workspace_bodies_are_refused_clearly(browser: AsyncClient) -> None:
    project = await new_project(browser)
    url = f"{API}/projects/{project}/workspaces"
    for body in ({}, {"name": ""}, {"name": "   "}, {"name": "x" * 201}, {"name": "a", "x": 1}):
        assert_error(await browser.post(url, json=body), 422, "VALIDATION_ERROR")
    assert_error(
        await browser.post(url, json={"name": "a", "base_snapshot_id": "nope"}),
        422,
        "VALIDATION_ERROR",
    )
    # A base snapshot must be one of this project's snapshots.
    unknown = str(uuid.uuid4())
    assert_missing_reference(
        await browser.post(url, json={"name": "a", "base_snapshot_id": unknown}),
        "base_snapshot_id",
        unknown,
    )
    assert (await browser.get(url)).json()["pagination"]["total"] == 0


async def test_a_workspace_can_start_from_a_project_snapshot(browser: AsyncClient) -> None:
    project = await new_project(browser)
    manifest = await upload_tree(browser, {"a.txt": b"a"})
    snapshot = await new_snapshot(browser, project, manifest)
    workspace = await new_workspace(browser, project, "fork", base_snapshot_id=snapshot["id"])
    assert workspace["base_snapshot_id"] == snapshot["id"]
    other = await new_project(browser, "Other")
    assert_missing_reference(
        await browser.post(
            f"{API}/projects/{other}/workspaces",
            json={"name": "x", "base_snapshot_id": snapshot["id"]},
        ),
        "base_snapshot_id",
        snapshot["id"],
    )


async def test_list_is_paginated_oldest_first_with_each_latest_drift_report(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    made = [await new_workspace(browser, project, f"ws{i}") for i in range(3)]
    reported = await browser.post(
        f"{API}/workspaces/{made[1]['id']}/drift",
        json={"files_added": 1, "files_modified": 2, "files_deleted": 3, "bytes_changed": 4},
    )
    assert reported.status_code == 201
    first = (await browser.get(f"{API}/projects/{project}/workspaces", params={"limit": 2})).json()
    assert [w["id"] for w in first["data"]] == [made[0]["id"], made[1]["id"]]
    assert first["pagination"]["has_more"] is True and first["pagination"]["total"] == 3
    assert first["data"][0]["latest_drift"] is None
    latest = first["data"][1]["latest_drift"]
    assert latest["kind"] == "reported" and latest["files_modified"] == 2
    second = (
        await browser.get(
            f"{API}/projects/{project}/workspaces",
            params={"limit": 2, "cursor": first["pagination"]["next_cursor"]},
        )
    ).json()
    assert [w["id"] for w in second["data"]] == [made[2]["id"]]
    assert second["pagination"]["has_more"] is False


async def test_get_returns_the_workspace_and_no_drift_for_the_main_one(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    response = await browser.get(f"{API}/workspaces/{main['id']}")
    assert response.status_code == 200
    assert response.json() == {"workspace": main, "drift": None}
    assert_error(await browser.get(f"{API}/workspaces/{uuid.uuid4()}"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.get(f"{API}/workspaces/not-a-uuid"), 422, "VALIDATION_ERROR")


async def test_patch_renames_and_moves_a_workspace(browser: AsyncClient) -> None:
    project = await new_project(browser)
    workspace = await new_workspace(browser, project, "laptop", local_path="/old")
    url = f"{API}/workspaces/{workspace['id']}"
    renamed = await browser.patch(url, json={"name": "  travel laptop ", "local_path": "/new"})
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "travel laptop"
    assert renamed.json()["local_path"] == "/new"
    cleared = await browser.patch(url, json={"local_path": None})
    assert cleared.json()["local_path"] is None and cleared.json()["name"] == "travel laptop"
    assert (await browser.get(url)).json()["workspace"]["name"] == "travel laptop"


async def test_patch_refuses_bad_changes_and_keeps_the_workspace(browser: AsyncClient) -> None:
    project = await new_project(browser)
    await new_workspace(browser, project, "taken")
    workspace = await new_workspace(browser, project, "mine")
    url = f"{API}/workspaces/{workspace['id']}"
    assert_error(await browser.patch(url, json={"name": "taken"}), 409, "CONFLICT")
    for body in ({}, {"name": None}, {"name": ""}, {"is_main": True}):
        assert_error(await browser.patch(url, json=body), 422, "VALIDATION_ERROR")
    assert (await browser.get(url)).json()["workspace"] == workspace
    # Renaming to its own name is not a conflict.
    assert (await browser.patch(url, json={"name": "mine"})).status_code == 200


async def test_the_main_workspace_cannot_be_deleted_but_others_can(browser: AsyncClient) -> None:
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    other = await new_workspace(browser, project, "other")
    manifest = await upload_tree(browser, {"a.txt": b"a"})
    snapshot = await new_snapshot(browser, project, manifest, workspace_id=other["id"])

    error = assert_error(await browser.delete(f"{API}/workspaces/{main['id']}"), 409, "CONFLICT")
    assert "main workspace" in error["message"]
    assert (await browser.get(f"{API}/workspaces/{main['id']}")).status_code == 200

    assert (await browser.delete(f"{API}/workspaces/{other['id']}")).status_code == 204
    assert_error(await browser.get(f"{API}/workspaces/{other['id']}"), 404, "RESOURCE_NOT_FOUND")
    # Its snapshots stay in the project's history.
    kept = (await browser.get(f"{API}/snapshots/{snapshot['id']}")).json()["snapshot"]
    assert kept["workspace_id"] is None
    assert "workspace.deleted" in [e["type"] for e in await events(browser, project)]


async def test_set_as_main_moves_the_flag_so_exactly_one_is_main(browser: AsyncClient) -> None:
    project = await new_project(browser)
    first = await new_workspace(browser, project, "first")
    second = await new_workspace(browser, project, "second")
    response = await browser.post(f"{API}/workspaces/{second['id']}/set-as-main")
    assert response.status_code == 200
    assert response.json() == {"success": True, "main_workspace_id": second["id"]}
    listing = (await browser.get(f"{API}/projects/{project}/workspaces")).json()["data"]
    assert {w["id"]: w["is_main"] for w in listing} == {first["id"]: False, second["id"]: True}
    changed = [e for e in await events(browser, project) if e["type"] == "workspace.main_changed"]
    assert changed[0]["data"] == {
        "workspace_id": second["id"],
        "previous_main_workspace_id": first["id"],
    }
    # Again: nothing changes, no new event.
    again = await browser.post(f"{API}/workspaces/{second['id']}/set-as-main")
    assert again.json()["main_workspace_id"] == second["id"]
    changed = [e for e in await events(browser, project) if e["type"] == "workspace.main_changed"]
    assert len(changed) == 1
    # The former main can now be deleted.
    assert (await browser.delete(f"{API}/workspaces/{first['id']}")).status_code == 204


async def test_heartbeat_records_when_the_workspace_was_last_seen(browser: AsyncClient) -> None:
    project = await new_project(browser)
    workspace = await new_workspace(browser, project, "laptop")
    response = await browser.post(f"{API}/workspaces/{workspace['id']}/heartbeat")
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    seen = (await browser.get(f"{API}/workspaces/{workspace['id']}")).json()["workspace"]
    assert iso_time(seen["last_seen_at"]) == iso_time(body["last_seen_at"])


async def test_workspace_snapshots_are_its_own_newest_first_and_paginated(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    workspace = await new_workspace(browser, project, "laptop")
    other = await new_workspace(browser, project, "other")
    manifest = await upload_tree(browser, {"a.txt": b"a"})
    mine = [
        await new_snapshot(browser, project, manifest, workspace_id=workspace["id"])
        for _ in range(3)
    ]
    await new_snapshot(browser, project, manifest, workspace_id=other["id"])
    url = f"{API}/workspaces/{workspace['id']}/snapshots"
    page = (await browser.get(url)).json()
    assert [s["id"] for s in page["data"]] == [s["id"] for s in reversed(mine)]
    assert page["pagination"] == {"next_cursor": None, "has_more": False, "total": 3}
    first = (await browser.get(url, params={"limit": 2})).json()
    rest = (
        await browser.get(url, params={"limit": 2, "cursor": first["pagination"]["next_cursor"]})
    ).json()
    assert [s["id"] for s in first["data"] + rest["data"]] == [s["id"] for s in reversed(mine)]
    capped = await browser.get(url, params={"limit": 1000})
    assert capped.status_code == 200
    assert_error(await browser.get(url, params={"limit": 0}), 422, "VALIDATION_ERROR")


async def test_a_viewer_reads_workspaces_but_cannot_change_them(
    signed_in: SignedInFactory,
) -> None:
    owner, viewer = await signed_in(), await signed_in()
    project = await new_project(owner.browser)
    workspace = await new_workspace(owner.browser, project, "main")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    ws = f"{API}/workspaces/{workspace['id']}"
    manifest = await upload_tree(viewer.api, {"a.txt": b"a"})
    for client in viewer.clients().values():
        assert (await client.get(ws)).status_code == 200
        assert (await client.get(f"{API}/projects/{project}/workspaces")).status_code == 200
        assert (await client.get(f"{ws}/drift")).status_code == 200
        assert (await client.get(f"{ws}/snapshots")).status_code == 200
        writes = [
            ("POST", f"{API}/projects/{project}/workspaces", {"name": "mine"}),
            ("PATCH", ws, {"name": "renamed"}),
            ("DELETE", ws, None),
            ("POST", f"{ws}/heartbeat", None),
            ("POST", f"{ws}/set-as-main", None),
            ("POST", f"{ws}/current-manifest", {"manifest_hash": manifest}),
            (
                "POST",
                f"{ws}/drift",
                {"files_added": 1, "files_modified": 0, "files_deleted": 0, "bytes_changed": 1},
            ),
        ]
        for verb, url, body in writes:
            assert_error(await client.request(verb, url, json=body), 403, "FORBIDDEN")
    after = (await owner.browser.get(ws)).json()["workspace"]
    assert after == workspace
    assert (await owner.browser.get(f"{ws}/drift")).json()["drift_reports"] == []


async def test_an_editor_can_create_and_change_workspaces(
    signed_in: SignedInFactory,
) -> None:
    owner, editor = await signed_in(), await signed_in()
    project = await new_project(owner.browser)
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    created = await new_workspace(editor.cli, project, "editor-laptop")
    assert created["is_main"] is True
    assert created["created_by"] == editor.user["id"]
    renamed = await editor.api.patch(f"{API}/workspaces/{created['id']}", json={"name": "x"})
    assert renamed.status_code == 200
