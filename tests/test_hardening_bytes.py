"""Cross-tenant reads through manifests, replayed over HTTP as an attacker would, and
manifests that are hostile but valid, read back by every route that reads manifests.

The attack: Mallory learns the hash of a file of Victor's (it leaked in a log). She writes a
manifest of her own naming that hash, makes it her workspace's current manifest or a snapshot
of her project, and reads the file through the docs or diffs routes. Every route must answer
her exactly as it does for a hash nobody has, and Victor's data must stay intact.
"""

from __future__ import annotations

import json
import os
import uuid
from typing import Any

import pytest
from httpx import AsyncClient, Response
from sqlalchemy import update

from orbiter.blobs.access import grant_ownership
from orbiter.blobs.manifest import manifest_key
from orbiter.core.db import transaction
from orbiter.models import Workspace
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256, upload_blob, upload_manifest, upload_tree
from tests.helpers import API, SignedInFactory, add_member, new_project
from tests.workspaces.util import new_snapshot, new_workspace

SECRET = b"# Deploy notes\n\nproduction database password: hunter2\n"


def normalised(response: Response, hashes: dict[str, str]) -> tuple[int, Any]:
    """Status and body with the named hashes replaced by placeholders, for comparing answers."""
    text = response.text
    for hash_, name in hashes.items():
        text = text.replace(hash_, name)
    return response.status_code, json.loads(text) if text else None


async def test_a_manifest_naming_someone_elses_blob_reads_nothing(
    signed_in: SignedInFactory, resources: Resources
) -> None:
    victor, mallory = await signed_in(), await signed_in()
    victim_project = await new_project(victor.api, "Victor's")
    victim_workspace = await new_workspace(victor.api, victim_project, "main")
    victim_manifest = await upload_tree(victor.api, {"README.md": SECRET})
    await _set_current(victor.api, victim_workspace["id"], victim_manifest, expect=200)
    victim_snapshot = await new_snapshot(victor.api, victim_project, victim_manifest)
    secret_hash = sha256(SECRET)
    unknown_hash = sha256(os.urandom(32))  # nobody has these bytes

    project = await new_project(mallory.api, "Mallory's")
    workspace = await new_workspace(mallory.api, project, "main")
    own = await upload_tree(mallory.api, {"notes.md": b"mine\n"})
    await _set_current(mallory.api, workspace["id"], own, expect=200)
    own_snapshot = await new_snapshot(mallory.api, project, own)

    answers: dict[str, list[tuple[int, Any]]] = {}
    for name, target in (("secret", secret_hash), ("unknown", unknown_hash)):
        hashes = {target: "TARGET"}
        files = [{"path": "README.md", "hash": target, "size": len(SECRET), "mode": 0o644}]
        manifest = await upload_manifest(mallory.api, files)
        hashes[manifest] = "MANIFEST"
        seen = answers.setdefault(name, [])
        for response in await _attempts(mallory.api, project, workspace["id"], manifest):
            seen.append(normalised(response, hashes))
        for response in await _blob_probes(mallory.api, target):
            seen.append(normalised(response, hashes))
        diff = await mallory.api.get(
            f"{API}/snapshots/{own_snapshot['id']}/diff", params={"against": victim_snapshot["id"]}
        )
        seen.append(normalised(diff, {victim_snapshot["id"]: "AGAINST"}))

    assert answers["secret"] == answers["unknown"]
    statuses = [status for status, _ in answers["secret"]]
    assert statuses == [400, 400, 200, 404, 200, 404, 200, 422], answers["secret"]
    assert SECRET.decode() not in json.dumps(answers["secret"])
    # Mallory's workspace still has her own manifest; her project has only her snapshot.
    detail = (await mallory.api.get(f"{API}/workspaces/{workspace['id']}")).json()
    assert detail["workspace"]["current_manifest_hash"] == own
    listed = (await mallory.api.get(f"{API}/projects/{project}/snapshots")).json()["data"]
    assert [s["id"] for s in listed] == [own_snapshot["id"]]

    # Victor's data is intact and his.
    assert (await victor.api.get(f"/api/v1/blobs/download/{secret_hash}")).content == SECRET
    content = await victor.api.get(
        f"{API}/projects/{victim_project}/docs/content",
        params={"workspace": "main", "path": "README.md"},
    )
    assert content.status_code == 200 and content.json()["content"] == SECRET.decode()
    gc = await mallory.api.post("/api/v1/blobs/gc", json={"dryRun": False})
    assert gc.status_code == 200 and gc.json()["orphanedBlobs"] == 0
    assert (await victor.api.get(f"/api/v1/blobs/download/{secret_hash}")).content == SECRET


async def test_holding_the_bytes_is_what_makes_a_hash_usable(signed_in: SignedInFactory) -> None:
    """The rule is proof of possession: with the bytes, the same manifest is fine."""
    victor, mallory = await signed_in(), await signed_in()
    await upload_blob(victor.api, SECRET)
    project = await new_project(mallory.api)
    workspace = await new_workspace(mallory.api, project, "main")
    files = [{"path": "README.md", "hash": sha256(SECRET), "size": len(SECRET), "mode": 0o644}]
    manifest = await upload_manifest(mallory.api, files)
    refused = await _set_current(mallory.api, workspace["id"], manifest, expect=400)
    assert refused.json()["error"]["details"]["missing"] == [sha256(SECRET)]

    await upload_blob(mallory.api, SECRET)  # she has the file after all
    await _set_current(mallory.api, workspace["id"], manifest, expect=200)
    await new_snapshot(mallory.api, project, manifest)
    content = await mallory.api.get(
        f"{API}/projects/{project}/docs/content", params={"workspace": "main", "path": "README.md"}
    )
    assert content.json()["content"] == SECRET.decode()


async def test_a_project_member_may_reuse_the_projects_manifests(
    signed_in: SignedInFactory,
) -> None:
    """Manifests the project already uses need no proof: their blobs were checked then."""
    owner, member = await signed_in(), await signed_in()
    project = await new_project(owner.api)
    await add_member(owner.api, project, member.api, member.email, "editor")
    manifest = await upload_tree(owner.api, {"README.md": SECRET})
    await new_snapshot(owner.api, project, manifest)
    laptop = await new_workspace(member.api, project, "laptop")
    await _set_current(member.api, laptop["id"], manifest, expect=200)
    # ... but not in a project of their own.
    elsewhere = await new_project(member.api, "Elsewhere")
    other = await new_workspace(member.api, elsewhere, "main")
    await _set_current(member.api, other["id"], manifest, expect=400)


async def _set_current(
    client: AsyncClient, workspace_id: str, manifest: str, *, expect: int
) -> Response:
    response = await client.post(
        f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == expect, response.text
    return response


async def _attempts(
    client: AsyncClient, project: str, workspace_id: str, manifest: str
) -> list[Response]:
    """Use the manifest every way a project can, then read through the project."""
    return [
        await client.post(
            f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
        ),
        await client.post(f"{API}/projects/{project}/snapshots", json={"manifest_hash": manifest}),
        await client.get(f"{API}/projects/{project}/docs"),
        await client.get(
            f"{API}/projects/{project}/docs/content",
            params={"workspace": "main", "path": "README.md"},
        ),
    ]


async def _blob_probes(client: AsyncClient, target: str) -> list[Response]:
    """The blob routes, asked about the target hash."""
    return [
        await client.post("/api/v1/blobs/exists", json={"hashes": [target]}),
        await client.get(f"/api/v1/blobs/download/{target}"),
        await client.post("/api/v1/blobs/presign-download", json={"hashes": [target]}),
    ]


# --- hostile manifests that are valid: every reader copes ---------------------------------

HOSTILE_SIZE = 2**62 - 1  # the largest total a manifest may have


def hostile_files(blob: str) -> list[dict[str, Any]]:
    """Huge (lying) sizes, exotic but valid names, links, nesting, extra members."""
    return [
        {"path": "README.md", "hash": blob, "size": HOSTILE_SIZE - 20, "mode": 0o100755},
        {"path": "ünï/日本語 \u2028 \"quoted\" 'x' <b>.md", "hash": blob, "size": 5, "mode": 0},
        {"path": "emoji/🚀\ufeff\uffff.txt", "hash": blob, "size": 5, "mode": 0o777},
        {"path": "/".join(["d" * 200] * 20), "hash": blob, "size": 5, "mode": 0o644},
        {"path": "dir", "type": "dir", "size": 0, "mode": 0o040755, "hash": blob},
        {"path": "dir/up", "type": "symlink", "target": "../README.md", "size": 0, "mode": 0},
        {"path": "loop", "type": "symlink", "target": "loop", "size": 0, "mode": 0o777},
        {"path": "x.md", "hash": blob, "size": 0, "mode": 0o644, "mod_time": "\u00a0" * 64},
        {"path": "y.md", "hash": blob, "size": 5, "mode": 0o644, "extra": {"a": [[1]]}},
    ]


@pytest.fixture
def huge_blobs_allowed(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings, "max_blob_bytes", 2**63 - 1)


async def test_hostile_but_valid_manifests_do_not_break_any_reader(
    browser: AsyncClient, huge_blobs_allowed: None
) -> None:
    blob = await upload_blob(browser, b"hello")
    hostile = await upload_manifest(browser, hostile_files(blob))
    plain = await upload_tree(browser, {"README.md": b"hello", "only-here.txt": b"x"})
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    feature = await new_workspace(browser, project, "feature")
    await _set_current(browser, main["id"], hostile, expect=200)
    await _set_current(browser, feature["id"], plain, expect=200)
    first = await new_snapshot(browser, project, plain, workspace_id=feature["id"])
    second = await new_snapshot(
        browser, project, hostile, parent_snapshot_ids=[first["id"]], workspace_id=main["id"]
    )
    conversation = await browser.post(
        "/api/v1/conversations", json={"project_id": project, "workspace_id": main["id"]}
    )
    assert conversation.status_code == 201, conversation.text

    reads = {
        "drift compare": f"{API}/workspaces/{feature['id']}/drift/compare",
        "drift of snapshots": f"{API}/workspaces/{feature['id']}/drift/compare?include_dirty=false",
        "workspace detail": f"{API}/workspaces/{feature['id']}",
        "main detail": f"{API}/workspaces/{main['id']}",
        "workspaces": f"{API}/projects/{project}/workspaces",
        "drift reports": f"{API}/workspaces/{feature['id']}/drift",
        "docs": f"{API}/projects/{project}/docs",
        "doc": f"{API}/projects/{project}/docs/content?workspace=main&path=y.md",
        "diff": f"{API}/snapshots/{second['id']}/diff",
        "diff back": f"{API}/snapshots/{first['id']}/diff?against={second['id']}",
        "project": f"{API}/projects/{project}",
        "project info": f"{API}/conversations/{conversation.json()['id']}/project-info",
        "manifest": f"/api/v1/blobs/manifests/{hostile}",
    }
    for name, url in reads.items():
        response = await browser.get(url)
        assert response.status_code == 200, (name, response.text)
    compare = (await browser.get(reads["drift compare"])).json()["drift"]
    assert compare["bytes_changed"] >= HOSTILE_SIZE - 20
    docs = (await browser.get(reads["docs"])).json()
    paths = {f["path"] for w in docs["workspaces"] for f in w["files"]}
    assert "ünï/日本語 \u2028 \"quoted\" 'x' <b>.md" in paths
    info = (await browser.get(reads["project info"])).json()
    assert info["manifest"]["total_bytes"] == HOSTILE_SIZE
    readme = await browser.get(
        f"{API}/projects/{project}/docs/content", params={"workspace": "main", "path": "README.md"}
    )
    assert readme.status_code == 413  # its (lying) size is over the docs limit


async def test_a_snapshot_id_of_another_project_is_not_revealed_by_diff(
    browser: AsyncClient,
) -> None:
    """`against` naming another project's snapshot answers like a snapshot that never was."""
    project = await new_project(browser)
    mine = await new_snapshot(browser, project, await upload_tree(browser, {"a": b"1"}))
    foreign = await new_snapshot(
        browser, await new_project(browser, "Other"), await upload_tree(browser, {"b": b"2"})
    )
    url = f"{API}/snapshots/{mine['id']}/diff"
    known = await browser.get(url, params={"against": foreign["id"]})
    unknown = await browser.get(url, params={"against": str(uuid.uuid4())})
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())


async def test_a_manifest_stored_before_todays_rules_breaks_no_reader(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bytes the old, laxer upload accepted (a lone surrogate in a path, sizes past int64)
    answer as an unreadable manifest (no 5xx anywhere), and gc keeps the blobs they name."""
    blob = await upload_blob(browser, b"kept")
    entries = [
        f'{{"path": "a\\ud800.md", "hash": "{blob}", "size": {2**64}}}',
        f'{{"path": "b.md", "hash": "{blob}", "size": {2**64}}}',
    ]
    raw = ('{"version": true, "files": [' + ", ".join(entries) + "]}").encode()
    project = await new_project(browser)
    main = await new_workspace(browser, project, "main")
    feature = await new_workspace(browser, project, "feature")
    await _store_as_before(resources, browser, raw, workspace_ids=[main["id"], feature["id"]])
    conversation = await browser.post(
        "/api/v1/conversations", json={"project_id": project, "workspace_id": main["id"]}
    )
    assert conversation.status_code == 201, conversation.text
    plain = await new_snapshot(browser, project, await upload_tree(browser, {"b.md": b"kept"}))
    # The project already uses it, so a snapshot of it is no new use of anyone's bytes.
    legacy = await new_snapshot(browser, project, sha256(raw), parent_snapshot_ids=[plain["id"]])
    reads = [
        f"{API}/workspaces/{feature['id']}/drift/compare",
        f"{API}/workspaces/{feature['id']}",
        f"{API}/projects/{project}/workspaces",
        f"{API}/projects/{project}/docs",
        f"{API}/projects/{project}/docs/content?workspace=main&path=b.md",
        f"{API}/snapshots/{legacy['id']}/diff",
        f"{API}/projects/{project}",
        f"{API}/conversations/{conversation.json()['id']}/project-info",
    ]
    for url in reads:
        response = await browser.get(url)
        assert response.status_code < 500, (url, response.text)
    docs = (await browser.get(f"{API}/projects/{project}/docs")).json()
    assert docs["total_files"] == 0  # unreadable: listed as empty

    monkeypatch.setattr(resources.settings, "gc_grace_seconds", 0)
    collected = await browser.post("/api/v1/blobs/gc", json={"dryRun": False})
    assert collected.json()["orphanedBlobs"] == 0
    assert (await browser.get(f"/api/v1/blobs/download/{blob}")).content == b"kept"


async def _store_as_before(
    resources: Resources, client: AsyncClient, raw: bytes, *, workspace_ids: list[str]
) -> None:
    """Put the manifest where an old upload would have: the store, the rows, workspaces."""
    me = uuid.UUID((await client.get("/api/v1/auth/me")).json()["id"])
    digest = sha256(raw)
    await resources.blobs.put_bytes(manifest_key(digest), raw)
    async with transaction(resources.sessionmaker) as db:
        await grant_ownership(
            db, resources.blobs, user_id=me, kind="manifest", hash_=digest, size=len(raw)
        )
        await db.execute(
            update(Workspace)
            .where(Workspace.id.in_([uuid.UUID(w) for w in workspace_ids]))
            .values(current_manifest_hash=digest)
        )
