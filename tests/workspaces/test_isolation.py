"""Tenancy for workspaces, drift and snapshots: another user's ids answer 404 to every route,
whatever credential is used, exactly like ids that do not exist, and nothing changes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.blobs.util import upload_tree
from tests.helpers import (
    API,
    SignedIn,
    SignedInFactory,
    assert_error,
    assert_missing_reference,
    new_project,
)
from tests.workspaces.util import new_snapshot, new_workspace, set_current


async def alices_things(alice: SignedIn) -> dict[str, Any]:
    client = alice.browser
    project = await new_project(client, "Alice's secret")
    main = await new_workspace(client, project, "main")
    feature = await new_workspace(client, project, "feature")
    await set_current(client, feature["id"], {"a.py": b"alice"})
    manifest = await upload_tree(client, {"a.py": b"alice"})
    snapshot = await new_snapshot(client, project, manifest, workspace_id=main["id"])
    reported = await client.post(
        f"{API}/workspaces/{feature['id']}/drift",
        json={"files_added": 1, "files_modified": 0, "files_deleted": 0, "bytes_changed": 1},
    )
    assert reported.status_code == 201
    return {
        "project": project,
        "main": main["id"],
        "feature": feature["id"],
        "snapshot": snapshot["id"],
        "manifest": manifest,
    }


async def alices_view(alice: SignedIn, ids: dict[str, Any]) -> dict[str, Any]:
    client = alice.browser
    return {
        "project": (await client.get(f"{API}/projects/{ids['project']}")).json(),
        "workspaces": (await client.get(f"{API}/projects/{ids['project']}/workspaces")).json(),
        "snapshots": (await client.get(f"{API}/projects/{ids['project']}/snapshots")).json(),
        "drift": (await client.get(f"{API}/workspaces/{ids['feature']}/drift")).json(),
    }


def attempts(ids: dict[str, Any], bob_manifest: str) -> list[tuple[str, str, Any]]:
    project = f"{API}/projects/{ids['project']}"
    report = {"files_added": 9, "files_modified": 9, "files_deleted": 9, "bytes_changed": 9}
    calls: list[tuple[str, str, Any]] = [
        ("POST", f"{project}/workspaces", {"name": "bob's"}),
        ("GET", f"{project}/workspaces", None),
        ("POST", f"{project}/snapshots", {"manifest_hash": bob_manifest}),
        ("GET", f"{project}/snapshots", None),
        ("GET", f"{API}/snapshots/{ids['snapshot']}", None),
        ("GET", f"{API}/snapshots/{ids['snapshot']}/diff", None),
    ]
    for key in ("main", "feature"):
        ws = f"{API}/workspaces/{ids[key]}"
        calls += [
            ("GET", ws, None),
            ("PATCH", ws, {"name": "bob's now"}),
            ("DELETE", ws, None),
            ("POST", f"{ws}/heartbeat", None),
            ("POST", f"{ws}/current-manifest", {"manifest_hash": bob_manifest}),
            ("POST", f"{ws}/drift", report),
            ("GET", f"{ws}/drift", None),
            ("GET", f"{ws}/drift/compare", None),
            ("POST", f"{ws}/set-as-main", None),
            ("GET", f"{ws}/snapshots", None),
        ]
    return calls


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_a_second_user_gets_404_on_every_workspace_and_snapshot_route(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    ids = await alices_things(alice)
    before = await alices_view(alice, ids)
    bob_manifest = await upload_tree(bob.api, {"b.py": b"bob"})
    intruder = bob.clients()[method]
    for verb, url, body in attempts(ids, bob_manifest):
        response = await intruder.request(verb, url, json=body)
        assert_error(response, 404, "RESOURCE_NOT_FOUND")
    assert await alices_view(alice, ids) == before


@pytest.mark.parametrize("method", ["cookie", "api_key", "bearer"])
async def test_hidden_ids_look_exactly_like_missing_ones(
    signed_in: SignedInFactory, method: str
) -> None:
    alice, bob = await signed_in(), await signed_in()
    ids = await alices_things(alice)
    intruder = bob.clients()[method]
    for template in ("/workspaces/{}", "/snapshots/{}"):
        key = "feature" if "workspaces" in template else "snapshot"
        hidden = await intruder.get(API + template.format(ids[key]))
        missing = await intruder.get(API + template.format(uuid.uuid4()))
        assert assert_error(hidden, 404, "RESOURCE_NOT_FOUND") == assert_error(
            missing, 404, "RESOURCE_NOT_FOUND"
        )


async def test_bobs_own_references_cannot_reach_into_alices_project(
    signed_in: SignedInFactory,
) -> None:
    """Bob may name Alice's ids inside his own requests; they are refused like unknown ids."""
    alice, bob = await signed_in(), await signed_in()
    ids = await alices_things(alice)
    project = await new_project(bob.cli, "Bob's")
    mine = await new_workspace(bob.cli, project, "mine")
    manifest = await upload_tree(bob.cli, {"b.py": b"bob"})
    references = [
        (
            f"{API}/projects/{project}/workspaces",
            {"name": "x", "base_snapshot_id": ids["snapshot"]},
            "base_snapshot_id",
        ),
        (
            f"{API}/projects/{project}/snapshots",
            {"manifest_hash": manifest, "parent_snapshot_ids": [ids["snapshot"]]},
            "parent_snapshot_ids",
        ),
        (
            f"{API}/projects/{project}/snapshots",
            {"manifest_hash": manifest, "workspace_id": ids["main"]},
            "workspace_id",
        ),
    ]
    for url, body, field in references:
        named = body[field]
        row_id = named[0] if isinstance(named, list) else named
        assert_missing_reference(await bob.cli.post(url, json=body), field, str(row_id))
    # Alice's manifest is not Bob's to use, even though it is in the store.
    for url, body in [
        (f"{API}/projects/{project}/snapshots", {"manifest_hash": ids["manifest"]}),
        (f"{API}/workspaces/{mine['id']}/current-manifest", {"manifest_hash": ids["manifest"]}),
    ]:
        assert_error(await bob.cli.post(url, json=body), 400, "BAD_REQUEST")
    compare = await bob.cli.get(
        f"{API}/workspaces/{mine['id']}/drift/compare",
        params={"source_workspace_id": ids["feature"]},
    )
    assert_missing_reference(compare, "source_workspace_id", ids["feature"])
    own = await new_snapshot(bob.cli, project, manifest)
    diff = await bob.cli.get(
        f"{API}/snapshots/{own['id']}/diff", params={"against": ids["snapshot"]}
    )
    assert_missing_reference(diff, "against", ids["snapshot"])
