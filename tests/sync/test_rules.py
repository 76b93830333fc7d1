"""sync/prepare's per-path rules (API.md, "Sync"), and execute and undo applying them."""

from __future__ import annotations

from httpx import AsyncClient

from tests.helpers import API, assert_error
from tests.sync.util import (
    Exe,
    Link,
    Value,
    blob_text,
    current_hash,
    execute,
    expected,
    forked,
    prepare,
    sync_url,
    tree_of,
)

BASE: dict[str, Value] = {
    "keep.txt": b"k\n",
    "upd.txt": b"u\n",
    "del.txt": b"d\n",
    "gone-here.txt": b"g\n",
    "gone-main.txt": b"h\n",
    "merge.txt": b"a\nb\nc\n",
    "clash.txt": b"x\n",
    "bin.dat": b"\0a",
    "mode.sh": b"s\n",
    "link": Link("keep.txt"),
    "link2": Link("keep.txt"),
    "same.txt": b"s\n",
    "both-same.txt": b"q\n",
}
MAIN: dict[str, Value] = {
    **BASE,
    "upd.txt": b"u2\n",
    "new.txt": b"n\n",
    "gone-here.txt": b"g2\n",
    "merge.txt": b"A\nb\nc\n",
    "clash.txt": b"y\n",
    "bin.dat": b"\0b",
    "mode.sh": Exe(b"s\n"),
    "link": Link("upd.txt"),
    "link2": Link("upd.txt"),
    "both-same.txt": b"q2\n",
}
del MAIN["del.txt"], MAIN["gone-main.txt"]
MINE: dict[str, Value] = {
    **BASE,
    "keep.txt": b"k2\n",
    "gone-main.txt": b"h2\n",
    "merge.txt": b"a\nb\nC\n",
    "clash.txt": b"z\n",
    "bin.dat": b"\0c",
    "mode.sh": b"s2\n",
    "link2": Link("same.txt"),
    "both-same.txt": b"q2\n",
}
del MINE["gone-here.txt"]
DECISIONS = {
    "gone-here.txt": "deleted in this workspace, changed in main",
    "gone-main.txt": "deleted in main, changed in this workspace",
    "clash.txt": "changed on both sides; does not merge cleanly",
    "bin.dat": "changed on both sides; does not merge cleanly",
    "link2": "changed on both sides; does not merge cleanly",
}
ANSWERS = {
    "gone-here.txt": "use_main",
    "gone-main.txt": "use_workspace",
    "clash.txt": "use_main",
    "bin.dat": "use_workspace",
    "link2": "use_main",
}


async def test_every_per_path_rule_then_execute_and_undo_once(browser: AsyncClient) -> None:
    scene = await forked(browser, BASE, MAIN, MINE)
    before = await current_hash(browser, scene.workspace_id)
    preview = await prepare(browser, scene.workspace_id)

    assert preview["merge_base_rule"] == "fork_point"
    assert preview["base_snapshot_id"] == scene.base_snapshot_id
    actions = {a["path"]: a["action"] for a in preview["auto_actions"]}
    assert actions == {
        "keep.txt": "keep_workspace",  # changed only here
        "upd.txt": "copy_from_main",  # changed only in main
        "new.txt": "copy_from_main",  # only in main
        "del.txt": "copy_from_main",  # deleted only in main
        "link": "copy_from_main",  # a symlink's target changed only in main
        "merge.txt": "merged",  # text changed on both sides, merged by merge3
        "mode.sh": "merged",  # content changed here, mode in main
    }
    assert {d["path"]: d["conflict_reason"] for d in preview["decisions_needed"]} == DECISIONS
    clash = next(d for d in preview["decisions_needed"] if d["path"] == "clash.txt")
    assert [o["id"] for o in clash["options"]] == ["use_main", "use_workspace"]
    assert clash["recommended_option_id"] == "use_workspace"
    assert clash["options"][0]["result"]["hash"] == expected(MAIN)["clash.txt"][1]
    assert preview["files_to_add"] == ["new.txt"]
    assert preview["files_to_update"] == ["link", "merge.txt", "mode.sh", "upd.txt"]
    assert preview["files_to_delete"] == ["del.txt"]
    assert preview["files_unchanged"] == 2  # same.txt, both-same.txt

    done = await execute(browser, scene.workspace_id, preview["id"], decisions=ANSWERS)
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["success"] is True
    assert result["files_added"] == ["new.txt"]
    assert result["files_deleted"] == ["del.txt"]
    assert result["files_updated"] == [
        "link",
        "merge.txt",
        "mode.sh",
        "upd.txt",
        "clash.txt",
        "gone-here.txt",
        "link2",
    ]
    tree = await tree_of(browser, scene.workspace_id)
    want = expected(
        {
            **MINE,
            **{
                p: MAIN[p]
                for p in ("upd.txt", "new.txt", "link", "clash.txt", "gone-here.txt", "link2")
            },
        }
    )
    del want["del.txt"]
    merged_hash, mode_sh = tree.pop("merge.txt"), tree.pop("mode.sh")
    want.pop("merge.txt"), want.pop("mode.sh")
    assert tree == want
    assert await blob_text(browser, merged_hash[1]) == "A\nb\nC\n"
    assert mode_sh == ("file", expected(MINE)["mode.sh"][1], 0o755, None)

    snapshot = (await browser.get(f"{API}/snapshots/{result['snapshot_id']}")).json()["snapshot"]
    assert snapshot["manifest_hash"] == result["manifest_hash"]
    assert snapshot["parent_snapshot_ids"][0] == result["before_snapshot_id"]
    assert_error(
        await execute(browser, scene.workspace_id, preview["id"], decisions=ANSWERS),
        409,
        "CONFLICT",
    )

    undone = await browser.post(sync_url(scene.workspace_id, "undo"))
    assert undone.status_code == 200, undone.text
    assert undone.json()["reverted_to_snapshot_id"] == result["before_snapshot_id"]
    assert await current_hash(browser, scene.workspace_id) == before
    recorded = (await browser.get(f"{API}/snapshots/{undone.json()['snapshot_id']}")).json()
    assert recorded["snapshot"]["manifest_hash"] == before
    # A second undo has nothing left to undo: 409, and the workspace stays.
    assert_error(await browser.post(sync_url(scene.workspace_id, "undo")), 409, "CONFLICT")
    assert await current_hash(browser, scene.workspace_id) == before
