"""sync/execute refuses, changing nothing: 422 for unanswered decisions, 409 when the
workspace moved since the preview; drift/analyze says whether a sync needs a decision."""

from __future__ import annotations

from httpx import AsyncClient

from tests.blobs.util import collect, sha256
from tests.helpers import API, assert_error
from tests.sync.util import current_hash, execute, forked, prepare, set_tree, sync_url

BASE = {"a.txt": b"a\n", "b.txt": b"b\n"}
MAIN = {"a.txt": b"main\n", "b.txt": b"b2\n"}
MINE = {"a.txt": b"mine\n", "b.txt": b"b\n"}


async def test_unanswered_decision_is_422_and_changes_nothing(browser: AsyncClient) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    before = await current_hash(browser, scene.workspace_id)
    preview = await prepare(browser, scene.workspace_id)
    assert [d["path"] for d in preview["decisions_needed"]] == ["a.txt"]
    body = assert_error(
        await execute(browser, scene.workspace_id, preview["id"]), 422, "VALIDATION_ERROR"
    )
    assert body["details"]["unanswered"] == ["a.txt"]
    wrong = await execute(
        browser, scene.workspace_id, preview["id"], decisions={"a.txt": "combined"}
    )
    assert wrong.status_code == 422
    assert await current_hash(browser, scene.workspace_id) == before
    # The preview is still good once answered.
    done = await execute(
        browser,
        scene.workspace_id,
        preview["id"],
        decisions={"a.txt": "use_workspace"},
        create_snapshot_before=False,
        create_snapshot_after=False,
    )
    assert done.status_code == 200, done.text
    assert done.json()["snapshot_id"] is None
    assert done.json()["files_updated"] == ["b.txt"]


async def test_moved_workspace_is_409_and_keeps_its_change(browser: AsyncClient) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    preview = await prepare(browser, scene.workspace_id)
    moved = await set_tree(browser, scene.workspace_id, {**MINE, "c.txt": b"c\n"})
    response = await execute(
        browser, scene.workspace_id, preview["id"], decisions={"a.txt": "use_main"}
    )
    body = assert_error(response, 409, "CONFLICT")
    assert body["details"]["current_manifest_hash"] == moved
    assert await current_hash(browser, scene.workspace_id) == moved
    assert_error(await browser.post(sync_url(scene.workspace_id, "undo")), 409, "CONFLICT")


async def test_drift_analysis_is_deterministic(browser: AsyncClient) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    url = f"{API}/workspaces/{scene.workspace_id}/drift/analyze"
    analysis = (await browser.post(url)).json()["analysis"]
    assert analysis["can_auto_sync"] is False
    assert analysis["recommended_action"] == "review_conflicts"
    assert analysis["conflicts"] == ["a.txt"]
    assert analysis["risk_level"] == "high"  # 1 of the 2 paths main changed differs here too
    assert analysis["llm_enriched"] is False
    await set_tree(browser, scene.workspace_id, BASE)
    analysis = (await browser.post(url)).json()["analysis"]
    assert (analysis["can_auto_sync"], analysis["recommended_action"]) == (True, "sync")
    assert analysis["changes_from_main"] == 2
    await set_tree(browser, scene.workspace_id, MAIN)
    analysis = (await browser.post(url)).json()["analysis"]
    assert (analysis["recommended_action"], analysis["risk_level"]) == ("none", "low")


async def test_a_previews_merged_content_survives_blob_gc(
    browser: AsyncClient, no_grace: None
) -> None:
    scene = await forked(
        browser, {"m.txt": b"a\nb\nc\n"}, {"m.txt": b"A\nb\nc\n"}, {"m.txt": b"a\nb\nC\n"}
    )
    preview = await prepare(browser, scene.workspace_id)
    assert [a["action"] for a in preview["auto_actions"]] == ["merged"]
    merged = sha256(b"A\nb\nC\n")  # stored by prepare, named only by the preview's manifest
    collected = await collect(browser, dryRun=False)
    assert collected["success"] is True
    assert (await browser.get(f"{API}/blobs/download/{merged}")).content == b"A\nb\nC\n"
    done = await execute(browser, scene.workspace_id, preview["id"])
    assert done.status_code == 200, done.text
