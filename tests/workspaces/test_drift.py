"""Drift: file-level compares between workspaces (API.md "Drift"), stored as reports, and
drift reported by a CLI."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient

from tests.blobs.util import upload_blob, upload_manifest, upload_tree
from tests.helpers import API, assert_error, assert_missing_reference, new_project
from tests.workspaces.util import events, new_snapshot, new_workspace, set_current

BIG = 250_000
MAIN_TREE = {
    "same.py": b"same",
    "docs/main_only.md": b"m",
    "changed.py": b"main",
    "assets/big.bin": b"x" * BIG,
}
FEATURE_TREE = {
    "same.py": b"same",
    "feature_only.txt": b"f",
    "changed.py": b"feature",
    "assets/big.bin": b"y" * BIG,
}


async def two_workspaces(client: AsyncClient) -> tuple[str, dict[str, Any], dict[str, Any]]:
    project = await new_project(client)
    main = await new_workspace(client, project, "main")
    feature = await new_workspace(client, project, "feature")
    return project, main, feature


async def compare(client: AsyncClient, workspace_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/workspaces/{workspace_id}/drift/compare", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def reports(client: AsyncClient, workspace_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"{API}/workspaces/{workspace_id}/drift", params=params)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_compare_classifies_every_path_and_derives_the_metrics(browser: AsyncClient) -> None:
    project, main, feature = await two_workspaces(browser)
    main_hash = await set_current(browser, main["id"], MAIN_TREE)
    feature_hash = await set_current(browser, feature["id"], FEATURE_TREE)

    result = await compare(browser, feature["id"])
    assert result["is_main_workspace"] is False
    assert result["source_workspace"]["id"] == main["id"]
    drift = result["drift"]
    assert drift["kind"] == "compare"
    assert drift["workspace_id"] == feature["id"]
    assert drift["source_workspace_id"] == main["id"]
    assert drift["project_id"] == project
    assert drift["workspace_manifest_hash"] == feature_hash
    assert drift["source_manifest_hash"] == main_hash
    assert drift["include_dirty"] is True
    assert drift["workspace_snapshot_id"] is None and drift["source_snapshot_id"] is None
    assert drift["source_only"] == ["docs/main_only.md"]
    assert drift["workspace_only"] == ["feature_only.txt"]
    assert drift["both_same"] == ["same.py"]
    assert drift["both_different"] == ["assets/big.bin", "changed.py"]
    assert drift["counts"] == {
        "source_only": 1,
        "workspace_only": 1,
        "both_same": 1,
        "both_different": 2,
    }
    assert drift["truncated"] is False
    assert drift["total_drift_files"] == 3
    assert drift["has_overlaps"] is True
    assert drift["overlap_ratio"] == 2 / 3
    assert drift["risk_level"] == "high"  # overlap_ratio >= 0.6
    assert drift["top_overlap_files"] == ["assets/big.bin", "changed.py"]
    assert drift["counts_by_ext"] == {
        "source_only": {".md": 1},
        "workspace_only": {".txt": 1},
        "both_different": {".bin": 1, ".py": 1},
    }
    assert drift["large_files_changed"] is True
    assert drift["large_files"] == ["assets/big.bin"]
    assert drift["staleness_hours"] == 0
    # The classic counters, from the workspace's point of view.
    assert (drift["files_added"], drift["files_modified"], drift["files_deleted"]) == (1, 2, 1)
    assert drift["bytes_changed"] == 1 + 1 + len(b"feature") + BIG
    assert drift["summary"]

    stored = await reports(browser, feature["id"])
    assert stored["latest"]["id"] == drift["id"]
    assert stored["latest"]["risk_level"] == "high"
    assert stored["latest"]["overlap_ratio"] == 2 / 3


async def test_risk_is_low_without_overlap_medium_with_a_little_high_with_ten(
    browser: AsyncClient,
) -> None:
    _, main, feature = await two_workspaces(browser)
    base = {f"main{i}.py": f"m{i}".encode() for i in range(10)}

    await set_current(browser, main["id"], {**base, "shared.py": b"1"})
    await set_current(browser, feature["id"], {"shared.py": b"1", "mine.py": b"x"})
    low = (await compare(browser, feature["id"]))["drift"]
    assert (low["risk_level"], low["overlap_ratio"], low["has_overlaps"]) == ("low", 0, False)
    assert low["large_files_changed"] is False

    await set_current(browser, feature["id"], {"main0.py": b"changed here"})
    medium = (await compare(browser, feature["id"]))["drift"]
    assert medium["overlap_ratio"] == 1 / 11  # 1 of (10 source-only + 1 different)
    assert medium["risk_level"] == "medium"

    await set_current(browser, feature["id"], {k: b"mine " + v for k, v in base.items()})
    await set_current(browser, main["id"], {**base, **{f"only{i}.py": b"o" for i in range(10)}})
    high = (await compare(browser, feature["id"]))["drift"]
    assert high["counts"]["both_different"] == 10
    assert high["overlap_ratio"] == 0.5  # below 0.6: high because 10 files differ
    assert high["risk_level"] == "high"
    assert len(high["top_overlap_files"]) == 10


async def test_top_overlap_files_are_the_first_twenty_of_both_different(
    browser: AsyncClient,
) -> None:
    _, main, feature = await two_workspaces(browser)
    await set_current(browser, main["id"], {f"f{i:02}.txt": b"main" for i in range(25)})
    await set_current(browser, feature["id"], {f"f{i:02}.txt": b"feature" for i in range(25)})
    drift = (await compare(browser, feature["id"]))["drift"]
    assert drift["both_different"] == [f"f{i:02}.txt" for i in range(25)]
    assert drift["top_overlap_files"] == [f"f{i:02}.txt" for i in range(20)]
    assert drift["counts_by_ext"]["both_different"] == {".txt": 25}
    assert drift["overlap_ratio"] == 1


async def test_long_path_lists_are_cut_at_1000_while_counts_stay_exact(
    browser: AsyncClient,
) -> None:
    _, main, feature = await two_workspaces(browser)
    blob = await upload_blob(browser, b"same bytes")
    files = [{"path": f"f{i:04}", "hash": blob, "size": 10, "mode": 0o644} for i in range(1001)]
    manifest = await upload_manifest(browser, files)
    await browser.post(
        f"{API}/workspaces/{main['id']}/current-manifest", json={"manifest_hash": manifest}
    )
    drift = (await compare(browser, feature["id"]))["drift"]
    assert drift["counts"]["source_only"] == 1001
    assert len(drift["source_only"]) == 1000 and drift["truncated"] is True
    assert drift["counts_by_ext"]["source_only"] == {"(none)": 1001}
    assert drift["workspace_manifest_hash"] is None  # nothing recorded: compared as empty


async def test_include_dirty_false_compares_the_latest_snapshots(browser: AsyncClient) -> None:
    project, main, feature = await two_workspaces(browser)
    committed = await upload_tree(browser, {"a.py": b"committed"})
    main_snap = await new_snapshot(browser, project, committed, workspace_id=main["id"])
    feature_snap = await new_snapshot(browser, project, committed, workspace_id=feature["id"])
    await set_current(browser, feature["id"], {"a.py": b"dirty edit"})

    dirty = (await compare(browser, feature["id"]))["drift"]
    assert dirty["both_different"] == ["a.py"]
    assert dirty["workspace_snapshot_id"] is None
    assert dirty["source_snapshot_id"] == main_snap["id"]  # main has no current manifest

    clean = (await compare(browser, feature["id"], include_dirty="false"))["drift"]
    assert clean["include_dirty"] is False
    assert clean["both_same"] == ["a.py"] and clean["both_different"] == []
    assert clean["workspace_snapshot_id"] == feature_snap["id"]
    assert clean["risk_level"] == "low"


async def test_a_forked_workspace_without_snapshots_compares_its_base_snapshot(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    tree = await upload_tree(browser, {"a.py": b"a", "b.py": b"b"})
    base = await new_snapshot(browser, project, tree, workspace_id=main["id"])
    fork = await new_workspace(browser, project, "fork", base_snapshot_id=base["id"])
    drift = (await browser.get(f"{API}/workspaces/{fork['id']}")).json()["drift"]
    assert drift["workspace_snapshot_id"] == base["id"]
    assert drift["both_same"] == ["a.py", "b.py"] and drift["risk_level"] == "low"


async def test_compare_against_an_explicit_source_workspace(browser: AsyncClient) -> None:
    project, main, feature = await two_workspaces(browser)
    other = await new_workspace(browser, project, "other")
    await set_current(browser, feature["id"], {"a.py": b"1"})
    await set_current(browser, other["id"], {"a.py": b"2"})
    result = await compare(browser, feature["id"], source_workspace_id=other["id"])
    assert result["source_workspace"]["id"] == other["id"]
    assert result["drift"]["both_different"] == ["a.py"]
    # The main workspace compared with another one is a compare like any other.
    from_main = await compare(browser, main["id"], source_workspace_id=feature["id"])
    assert from_main["is_main_workspace"] is True
    assert from_main["drift"]["source_only"] == ["a.py"]


async def test_compare_of_the_main_workspace_with_itself_has_no_drift(
    browser: AsyncClient,
) -> None:
    _, main, _ = await two_workspaces(browser)
    result = await compare(browser, main["id"])
    assert result["drift"] is None
    assert result["is_main_workspace"] is True
    assert result["source_workspace"]["id"] == main["id"]
    assert (await reports(browser, main["id"]))["drift_reports"] == []


async def test_a_source_outside_the_project_is_refused(browser: AsyncClient) -> None:
    _, _, feature = await two_workspaces(browser)
    elsewhere = await new_workspace(browser, await new_project(browser, "Other"), "x")
    url = f"{API}/workspaces/{feature['id']}/drift/compare"
    for source in (elsewhere["id"], str(uuid.uuid4())):
        assert_missing_reference(
            await browser.get(url, params={"source_workspace_id": source}),
            "source_workspace_id",
            source,
        )
    assert_error(
        await browser.get(url, params={"source_workspace_id": "nope"}), 422, "VALIDATION_ERROR"
    )
    assert (await reports(browser, feature["id"]))["drift_reports"] == []


async def test_every_compare_is_stored_as_a_report(browser: AsyncClient) -> None:
    _, main, feature = await two_workspaces(browser)
    await set_current(browser, main["id"], {"a.py": b"1"})
    first = (await compare(browser, feature["id"]))["drift"]
    second = (await compare(browser, feature["id"]))["drift"]
    assert first["id"] != second["id"]
    stored = await reports(browser, feature["id"])
    assert [r["id"] for r in stored["drift_reports"]] == [second["id"], first["id"]]
    assert all(r["kind"] == "compare" for r in stored["drift_reports"])


async def test_get_workspace_drifts_against_main_and_reuses_an_unchanged_compare(
    browser: AsyncClient,
) -> None:
    _, main, feature = await two_workspaces(browser)
    url = f"{API}/workspaces/{feature['id']}"
    # Nothing recorded on either side: nothing to compare.
    assert (await browser.get(url)).json()["drift"] is None

    await set_current(browser, main["id"], MAIN_TREE)
    await set_current(browser, feature["id"], FEATURE_TREE)
    first = (await browser.get(url)).json()
    assert first["workspace"]["id"] == feature["id"]
    drift = first["drift"]
    assert drift["source_workspace_id"] == main["id"]
    assert drift["risk_level"] == "high" and drift["both_same"] == ["same.py"]
    again = (await browser.get(url)).json()["drift"]
    assert again["id"] == drift["id"]  # same two states: the stored compare
    assert len((await reports(browser, feature["id"]))["drift_reports"]) == 1

    await set_current(browser, feature["id"], MAIN_TREE)
    moved = (await browser.get(url)).json()["drift"]
    assert moved["id"] != drift["id"]
    assert moved["risk_level"] == "low" and moved["counts"]["both_same"] == 4


async def test_a_cli_drift_report_is_stored_and_listed_newest_first(browser: AsyncClient) -> None:
    project, _, feature = await two_workspaces(browser)
    url = f"{API}/workspaces/{feature['id']}/drift"
    made = []
    for i in range(3):
        response = await browser.post(
            url,
            json={
                "files_added": i,
                "files_modified": 2,
                "files_deleted": 3,
                "bytes_changed": 4096,
                "summary": f"report {i}",
            },
        )
        assert response.status_code == 201, response.text
        report = response.json()["drift_report"]
        made.append(report)
    assert made[0]["kind"] == "reported"
    assert made[0]["workspace_id"] == feature["id"] and made[0]["project_id"] == project
    assert made[0]["source_workspace_id"] is None
    assert made[0]["risk_level"] is None and made[0]["overlap_ratio"] is None
    assert (made[0]["files_added"], made[0]["bytes_changed"]) == (0, 4096)

    listing = await reports(browser, feature["id"], limit=2)
    assert [r["id"] for r in listing["drift_reports"]] == [made[2]["id"], made[1]["id"]]
    assert listing["latest"] == listing["drift_reports"][0]
    assert listing["latest"]["summary"] == "report 2"
    assert len((await reports(browser, feature["id"]))["drift_reports"]) == 3
    assert len((await reports(browser, feature["id"], limit=1000))["drift_reports"]) == 3
    assert_error(await browser.get(url, params={"limit": 0}), 422, "VALIDATION_ERROR")

    reported = [e for e in await events(browser, project) if e["type"] == "drift.reported"]
    assert len(reported) == 3
    assert reported[0]["data"]["drift_report_id"] == made[2]["id"]


async def test_bad_drift_reports_are_refused_and_nothing_is_stored(browser: AsyncClient) -> None:
    _, _, feature = await two_workspaces(browser)
    url = f"{API}/workspaces/{feature['id']}/drift"
    good = {"files_added": 1, "files_modified": 1, "files_deleted": 1, "bytes_changed": 1}
    for body in (
        {},
        {**good, "files_added": -1},
        {**good, "bytes_changed": -5},
        {**good, "files_modified": "many"},
        {**good, "summary": "x" * 10_001},
        {**good, "risk": "high"},
        {k: v for k, v in good.items() if k != "files_deleted"},
    ):
        assert_error(await browser.post(url, json=body), 422, "VALIDATION_ERROR")
    assert (await reports(browser, feature["id"]))["drift_reports"] == []
