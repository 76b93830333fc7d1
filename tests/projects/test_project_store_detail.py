"""Project detail and status show the project's workspaces, recent snapshots and snapshot
insights."""

from __future__ import annotations

from httpx import AsyncClient

from tests.blobs.util import upload_tree
from tests.helpers import API, SignedInFactory, add_member, new_project
from tests.workspaces.util import new_snapshot, new_workspace


async def test_a_new_project_has_no_workspaces_snapshots_or_insights(browser: AsyncClient) -> None:
    project = await new_project(browser)
    detail = (await browser.get(f"{API}/projects/{project}")).json()
    assert detail["workspaces"] == []
    assert detail["snapshots"] == []
    assert detail["snapshot_insights"] == {
        "total_snapshots": 0,
        "last_snapshot_id": None,
        "last_snapshot_at": None,
        "last_merge_at": None,
        "last_deploy_at": None,
        "snapshots_since_merge": 0,
        "snapshots_since_deploy": 0,
    }
    status = (await browser.get(f"{API}/projects/{project}/status")).json()
    assert status["last_snapshot_id"] is None


async def test_detail_lists_workspaces_the_last_ten_snapshots_and_insights(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    feature = await new_workspace(browser, project, "feature")
    await browser.post(
        f"{API}/workspaces/{feature['id']}/drift",
        json={"files_added": 2, "files_modified": 0, "files_deleted": 0, "bytes_changed": 10},
    )
    manifest = await upload_tree(browser, {"a.py": b"a"})
    made = [
        await new_snapshot(browser, project, manifest, workspace_id=main["id"]) for _ in range(12)
    ]

    detail = (await browser.get(f"{API}/projects/{project}")).json()
    assert [w["id"] for w in detail["workspaces"]] == [main["id"], feature["id"]]
    assert [w["is_main"] for w in detail["workspaces"]] == [True, False]
    assert detail["workspaces"][0]["latest_drift"] is None
    assert detail["workspaces"][1]["latest_drift"]["files_added"] == 2
    assert [s["id"] for s in detail["snapshots"]] == [s["id"] for s in reversed(made)][:10]
    insights = detail["snapshot_insights"]
    assert insights["total_snapshots"] == 12
    assert insights["last_snapshot_id"] == made[-1]["id"]
    assert insights["last_snapshot_at"] == made[-1]["created_at"]
    # No merge or deployment yet: every snapshot counts as "since".
    assert insights["last_merge_at"] is None and insights["last_deploy_at"] is None
    assert insights["snapshots_since_merge"] == 12
    assert insights["snapshots_since_deploy"] == 12
    # What was there before stays.
    assert detail["member_count"] == 1
    assert detail["events"][0]["type"] == "snapshot.created"

    status = (await browser.get(f"{API}/projects/{project}/status")).json()
    assert status["last_snapshot_id"] == made[-1]["id"]


async def test_a_viewer_sees_the_same_detail(
    signed_in: SignedInFactory,
) -> None:
    owner, viewer = await signed_in(), await signed_in()
    project = await new_project(owner.browser)
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    await new_workspace(owner.browser, project, "main")
    manifest = await upload_tree(owner.browser, {"a.py": b"a"})
    snapshot = await new_snapshot(owner.browser, project, manifest)
    detail = (await viewer.cli.get(f"{API}/projects/{project}")).json()
    assert detail["role"] == "viewer"
    assert [w["name"] for w in detail["workspaces"]] == ["main"]
    assert [s["id"] for s in detail["snapshots"]] == [snapshot["id"]]
    status = (await viewer.api.get(f"{API}/projects/{project}/status")).json()
    assert status["last_snapshot_id"] == snapshot["id"]
