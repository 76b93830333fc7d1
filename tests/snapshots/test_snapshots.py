"""Snapshots: registering uploaded trees (idempotent by id, complete or refused), the DAG of
parents, listing, reading and diffing, by every project member, and from CI."""

from __future__ import annotations

import asyncio
import uuid

from fastapi import FastAPI
from httpx import AsyncClient

from tests.blobs.util import sha256, upload_blob, upload_manifest, upload_tree
from tests.helpers import (
    API,
    SignedInFactory,
    add_member,
    assert_error,
    assert_missing_reference,
    new_client,
    new_project,
)
from tests.workspaces.util import events, new_snapshot, new_workspace


async def test_registering_a_snapshot_of_an_uploaded_tree(browser: AsyncClient) -> None:
    project = await new_project(browser)
    workspace = await new_workspace(browser, project, "laptop")
    manifest = await upload_tree(browser, {"a.py": b"print(1)", "docs/readme.md": b"# hi"})
    response = await browser.post(
        f"{API}/projects/{project}/snapshots",
        json={"manifest_hash": manifest, "workspace_id": workspace["id"], "message": "first"},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["created"] is True
    snapshot = body["snapshot"]
    me = (await browser.get(f"{API}/auth/me")).json()
    assert snapshot["project_id"] == project
    assert snapshot["workspace_id"] == workspace["id"]
    assert snapshot["manifest_hash"] == manifest
    assert snapshot["parent_snapshot_ids"] == []
    assert snapshot["source"] == "cli"
    assert snapshot["message"] == "first"
    assert snapshot["created_by"] == me["id"]
    uuid.UUID(snapshot["id"])

    got = await browser.get(f"{API}/snapshots/{snapshot['id']}")
    assert got.status_code == 200
    assert got.json() == {"snapshot": snapshot}
    [created] = [e for e in await events(browser, project) if e["type"] == "snapshot.created"]
    assert created["data"] == {
        "snapshot_id": snapshot["id"],
        "manifest_hash": manifest,
        "workspace_id": workspace["id"],
        "source": "cli",
    }


async def test_the_same_snapshot_id_again_returns_the_existing_snapshot(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    manifest = await upload_tree(browser, {"a.py": b"a"})
    chosen = str(uuid.uuid4())
    url = f"{API}/projects/{project}/snapshots"
    first = await browser.post(
        url, json={"manifest_hash": manifest, "snapshot_id": chosen, "source": "web"}
    )
    assert first.status_code == 201 and first.json()["snapshot"]["id"] == chosen
    again = await browser.post(url, json={"manifest_hash": manifest, "snapshot_id": chosen})
    assert again.status_code == 200
    assert again.json() == {"snapshot": first.json()["snapshot"], "created": False}
    listing = (await browser.get(url)).json()
    assert listing["pagination"]["total"] == 1
    created = [e for e in await events(browser, project) if e["type"] == "snapshot.created"]
    assert len(created) == 1


async def test_a_reused_snapshot_id_is_refused_without_naming_its_project(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    other = await new_project(browser, "Other")
    one = await upload_tree(browser, {"a.py": b"1"})
    two = await upload_tree(browser, {"a.py": b"2"})
    chosen = str(uuid.uuid4())
    await new_snapshot(browser, project, one, snapshot_id=chosen)
    different = assert_error(
        await browser.post(
            f"{API}/projects/{project}/snapshots",
            json={"manifest_hash": two, "snapshot_id": chosen},
        ),
        409,
        "CONFLICT",
    )
    assert different["details"]["field"] == "snapshot_id"
    elsewhere = assert_error(
        await browser.post(
            f"{API}/projects/{other}/snapshots", json={"manifest_hash": one, "snapshot_id": chosen}
        ),
        422,
        "VALIDATION_ERROR",
    )
    assert elsewhere["details"]["fields"][0]["field"] == "snapshot_id"
    assert "project" not in elsewhere["message"]
    kept = (await browser.get(f"{API}/snapshots/{chosen}")).json()["snapshot"]
    assert kept["manifest_hash"] == one and kept["project_id"] == project
    assert (await browser.get(f"{API}/projects/{other}/snapshots")).json()["data"] == []


async def test_racing_registrations_of_one_snapshot_id_create_it_once(
    app: FastAPI, signed_in: SignedInFactory
) -> None:
    user = await signed_in()
    project = await new_project(user.cli)
    manifest = await upload_tree(user.cli, {"a.py": b"a"})
    chosen = str(uuid.uuid4())
    body = {"manifest_hash": manifest, "snapshot_id": chosen}
    url = f"{API}/projects/{project}/snapshots"
    async with (
        new_client(app, Authorization=f"Bearer {user.token}") as one,
        new_client(app, **{"X-API-Key": user.api_key}) as two,
    ):
        results = await asyncio.gather(one.post(url, json=body), two.post(url, json=body))
    assert sorted(r.status_code for r in results) == [200, 201], [r.text for r in results]
    assert {r.json()["snapshot"]["id"] for r in results} == {chosen}
    assert (await user.cli.get(url)).json()["pagination"]["total"] == 1


async def test_a_manifest_not_uploaded_by_the_caller_is_400(
    signed_in: SignedInFactory,
) -> None:
    alice, bob = await signed_in(), await signed_in()
    project = await new_project(alice.browser)
    bobs = await upload_tree(bob.browser, {"b.py": b"bob"})
    for manifest in (bobs, "cd" * 32):
        error = assert_error(
            await alice.browser.post(
                f"{API}/projects/{project}/snapshots", json={"manifest_hash": manifest}
            ),
            400,
            "BAD_REQUEST",
        )
        assert error["details"] == {
            "manifest_hash": manifest,
            "manifest_missing": True,
            "missing": [manifest],
            "missing_count": 1,
        }
    assert (await alice.browser.get(f"{API}/projects/{project}/snapshots")).json()["data"] == []


async def test_missing_blobs_are_listed_and_the_snapshot_waits_for_them(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    present = await upload_blob(browser, b"present")
    absent = {name: f"absent {name}".encode() for name in ("x", "y")}
    files = [{"path": "present.txt", "hash": present, "size": 7, "mode": 0o644}] + [
        {"path": f"{name}.txt", "hash": sha256(data), "size": len(data), "mode": 0o644}
        for name, data in absent.items()
    ]
    manifest = await upload_manifest(browser, files)
    url = f"{API}/projects/{project}/snapshots"
    error = assert_error(
        await browser.post(url, json={"manifest_hash": manifest}), 400, "BAD_REQUEST"
    )
    assert error["details"]["manifest_missing"] is False
    assert error["details"]["missing"] == sorted(sha256(d) for d in absent.values())
    assert error["details"]["missing_count"] == 2
    assert (await browser.get(url)).json()["data"] == []

    for data in absent.values():
        await upload_blob(browser, data)
    assert (await browser.post(url, json={"manifest_hash": manifest})).status_code == 201


async def test_at_most_100_missing_hashes_are_listed(browser: AsyncClient) -> None:
    project = await new_project(browser)
    files = [
        {"path": f"f{i:03}", "hash": sha256(str(i).encode()), "size": 1, "mode": 0o644}
        for i in range(130)
    ]
    manifest = await upload_manifest(browser, files)
    error = assert_error(
        await browser.post(f"{API}/projects/{project}/snapshots", json={"manifest_hash": manifest}),
        400,
        "BAD_REQUEST",
    )
    assert len(error["details"]["missing"]) == 100
    assert error["details"]["missing_count"] == 130


async def test_parents_must_be_snapshots_of_the_same_project(browser: AsyncClient) -> None:
    project = await new_project(browser)
    other = await new_project(browser, "Other")
    manifest = await upload_tree(browser, {"a.py": b"a"})
    root = await new_snapshot(browser, project, manifest)
    side = await new_snapshot(browser, project, manifest)
    foreign = await new_snapshot(browser, other, manifest)
    merge = await new_snapshot(
        browser, project, manifest, parent_snapshot_ids=[side["id"], root["id"], side["id"]]
    )
    assert merge["parent_snapshot_ids"] == [side["id"], root["id"]]

    url = f"{API}/projects/{project}/snapshots"
    for parents in ([foreign["id"]], [root["id"], str(uuid.uuid4())]):
        assert_missing_reference(
            await browser.post(
                url, json={"manifest_hash": manifest, "parent_snapshot_ids": parents}
            ),
            "parent_snapshot_ids",
            parents[-1],
        )
    own = str(uuid.uuid4())
    assert_error(
        await browser.post(
            url,
            json={"manifest_hash": manifest, "snapshot_id": own, "parent_snapshot_ids": [own]},
        ),
        400,
        "BAD_REQUEST",
    )
    too_many = [str(uuid.uuid4()) for _ in range(17)]
    assert_error(
        await browser.post(url, json={"manifest_hash": manifest, "parent_snapshot_ids": too_many}),
        422,
        "VALIDATION_ERROR",
    )
    assert (await browser.get(url)).json()["pagination"]["total"] == 3


async def test_bad_snapshot_bodies_are_refused(browser: AsyncClient) -> None:
    project = await new_project(browser)
    elsewhere = await new_workspace(browser, await new_project(browser, "Other"), "x")
    manifest = await upload_tree(browser, {"a.py": b"a"})
    url = f"{API}/projects/{project}/snapshots"
    for body in (
        {},
        {"manifest_hash": "nothex"},
        {"manifest_hash": manifest.upper()},
        {"manifest_hash": manifest, "source": "Not A Source!"},
        {"manifest_hash": manifest, "snapshot_id": "nope"},
        {"manifest_hash": manifest, "extra": True},
    ):
        assert_error(await browser.post(url, json=body), 422, "VALIDATION_ERROR")
    assert_missing_reference(
        await browser.post(url, json={"manifest_hash": manifest, "workspace_id": elsewhere["id"]}),
        "workspace_id",
        elsewhere["id"],
    )
    assert (await browser.get(url)).json()["data"] == []
    assert_error(
        await browser.post(
            f"{API}/projects/{uuid.uuid4()}/snapshots", json={"manifest_hash": manifest}
        ),
        404,
        "RESOURCE_NOT_FOUND",
    )


async def test_project_snapshots_are_listed_newest_first_in_pages(browser: AsyncClient) -> None:
    project = await new_project(browser)
    manifest = await upload_tree(browser, {"a.py": b"a"})
    made = [await new_snapshot(browser, project, manifest) for _ in range(5)]
    url = f"{API}/projects/{project}/snapshots"
    everything = (await browser.get(url)).json()
    assert [s["id"] for s in everything["data"]] == [s["id"] for s in reversed(made)]
    assert everything["pagination"] == {"next_cursor": None, "has_more": False, "total": 5}
    page = (await browser.get(url, params={"limit": 3})).json()
    rest = (
        await browser.get(url, params={"limit": 3, "cursor": page["pagination"]["next_cursor"]})
    ).json()
    assert [s["id"] for s in page["data"] + rest["data"]] == [s["id"] for s in reversed(made)]
    assert (await browser.get(url, params={"limit": 500})).status_code == 200
    assert_error(await browser.get(url, params={"cursor": "forged"}), 400, "BAD_REQUEST")


async def test_diff_against_the_first_parent_another_snapshot_or_nothing(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser)
    before = await upload_tree(browser, {"keep.py": b"k", "edit.py": b"v1", "gone.py": b"g"})
    after = await upload_tree(browser, {"keep.py": b"k", "edit.py": b"v2", "new/file.md": b"n"})
    first = await new_snapshot(browser, project, before)
    second = await new_snapshot(browser, project, after, parent_snapshot_ids=[first["id"]])

    diff = (await browser.get(f"{API}/snapshots/{second['id']}/diff")).json()
    assert diff == {
        "snapshot_id": second["id"],
        "against": first["id"],
        "manifest_hash": after,
        "against_manifest_hash": before,
        "added": ["new/file.md"],
        "modified": ["edit.py"],
        "deleted": ["gone.py"],
        "counts": {"added": 1, "modified": 1, "deleted": 1, "unchanged": 1},
    }
    backwards = (
        await browser.get(f"{API}/snapshots/{first['id']}/diff", params={"against": second["id"]})
    ).json()
    assert backwards["added"] == ["gone.py"] and backwards["deleted"] == ["new/file.md"]
    root = (await browser.get(f"{API}/snapshots/{first['id']}/diff")).json()
    assert root["against"] is None and root["against_manifest_hash"] is None
    assert root["added"] == ["edit.py", "gone.py", "keep.py"]
    assert root["counts"] == {"added": 3, "modified": 0, "deleted": 0, "unchanged": 0}

    foreign = await new_snapshot(browser, await new_project(browser, "Other"), before)
    assert_missing_reference(
        await browser.get(
            f"{API}/snapshots/{second['id']}/diff", params={"against": foreign["id"]}
        ),
        "against",
        foreign["id"],
    )
    assert_error(
        await browser.get(f"{API}/snapshots/{uuid.uuid4()}/diff"), 404, "RESOURCE_NOT_FOUND"
    )


async def test_members_read_each_others_snapshots_and_only_editors_register(
    signed_in: SignedInFactory,
) -> None:
    owner, editor, viewer = await signed_in(), await signed_in(), await signed_in()
    project = await new_project(owner.browser)
    await add_member(owner.browser, project, editor.browser, editor.email, "editor")
    await add_member(owner.browser, project, viewer.browser, viewer.email, "viewer")
    manifest = await upload_tree(owner.browser, {"a.py": b"a"})
    snapshot = await new_snapshot(owner.browser, project, manifest)
    child = await upload_tree(editor.cli, {"a.py": b"a", "b.py": b"b"})
    second = await new_snapshot(editor.cli, project, child, parent_snapshot_ids=[snapshot["id"]])

    for client in viewer.clients().values():
        got = await client.get(f"{API}/snapshots/{second['id']}")
        assert got.status_code == 200 and got.json()["snapshot"] == second
        diff = (await client.get(f"{API}/snapshots/{second['id']}/diff")).json()
        assert diff["added"] == ["b.py"]
        listing = (await client.get(f"{API}/projects/{project}/snapshots")).json()
        assert [s["id"] for s in listing["data"]] == [second["id"], snapshot["id"]]
    own = await upload_tree(viewer.api, {"v.py": b"v"})
    assert_error(
        await viewer.api.post(f"{API}/projects/{project}/snapshots", json={"manifest_hash": own}),
        403,
        "FORBIDDEN",
    )
    # A manifest the project already has may be registered again by any editor.
    again = await editor.api.post(
        f"{API}/projects/{project}/snapshots", json={"manifest_hash": manifest}
    )
    assert again.status_code == 201, again.text


async def test_ci_registers_snapshots_with_an_api_key_only(
    signed_in: SignedInFactory,
) -> None:
    user = await signed_in()
    project = await new_project(user.browser)
    manifest = await upload_tree(user.api, {"a.py": b"a"})
    url = f"{API}/ci/projects/{project}/snapshots"
    chosen = str(uuid.uuid4())
    created = await user.api.post(url, json={"manifest_hash": manifest, "snapshot_id": chosen})
    assert created.status_code == 201, created.text
    assert created.json()["snapshot"]["source"] == "ci"
    assert created.json()["created"] is True
    again = await user.api.post(url, json={"manifest_hash": manifest, "snapshot_id": chosen})
    assert again.status_code == 200 and again.json()["created"] is False
    for client in (user.browser, user.cli):
        assert_error(await client.post(url, json={"manifest_hash": manifest}), 401, "UNAUTHORIZED")
    missing = await user.api.post(url, json={"manifest_hash": "ef" * 32})
    assert_error(missing, 400, "BAD_REQUEST")
    status = (await user.browser.get(f"{API}/projects/{project}/status")).json()
    assert status["last_snapshot_id"] == chosen
