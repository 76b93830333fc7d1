"""POST /blobs/gc by someone who left a project keeps what that project still uses.

A member's uploads can end up in a project's workspaces and snapshots that others created;
after the member leaves (or is removed), their gc must not delete those bytes from under the
project.
"""

from __future__ import annotations

import os

from httpx import AsyncClient

from orbiter.blobs.manifest import blob_key, manifest_key
from orbiter.runtime.resources import Resources
from tests.blobs.util import collect, sha256, upload_tree
from tests.helpers import API, SignedIn, SignedInFactory, add_member, new_project
from tests.workspaces.util import new_snapshot, new_workspace, set_current

README = b"# shared notes " + os.urandom(8).hex().encode()


async def _point(client: AsyncClient, workspace_id: str, manifest: str) -> None:
    response = await client.post(
        f"{API}/workspaces/{workspace_id}/current-manifest", json={"manifest_hash": manifest}
    )
    assert response.status_code == 200, response.text


async def _leave(member: SignedIn, project_id: str) -> None:
    response = await member.api.delete(f"{API}/projects/{project_id}/members/{member.user['id']}")
    assert response.status_code == 204, response.text


async def _remove(owner: SignedIn, project_id: str, member: SignedIn) -> None:
    response = await owner.api.delete(f"{API}/projects/{project_id}/members/{member.user['id']}")
    assert response.status_code == 204, response.text


async def _stored(resources: Resources, manifest: str) -> tuple[bool, bool]:
    return (
        await resources.blobs.exists(manifest_key(manifest)),
        await resources.blobs.exists(blob_key(sha256(README))),
    )


async def _readme(client: AsyncClient, project_id: str, workspace: str) -> str:
    response = await client.get(
        f"{API}/projects/{project_id}/docs/content",
        params={"workspace": workspace, "path": "README.md"},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["content"])


async def _shared_project(owner: SignedIn, member: SignedIn) -> tuple[str, str]:
    """The owner's project with a second workspace `w` the owner created; (project, w id)."""
    project_id = await new_project(owner.api, "shared")
    await add_member(owner.api, project_id, member.api, member.email, "editor")
    await new_workspace(owner.api, project_id, "main")
    workspace = await new_workspace(owner.api, project_id, "w")
    return project_id, str(workspace["id"])


async def _member_state_then_leave(
    signed_in: SignedInFactory,
) -> tuple[SignedIn, SignedIn, str, str]:
    """The member makes their upload the state of the owner's workspace `w`, then leaves;
    (owner, member, project id, manifest)."""
    owner, member = await signed_in(), await signed_in()
    project_id, workspace_id = await _shared_project(owner, member)
    manifest = await set_current(member.api, workspace_id, {"README.md": README})
    await _leave(member, project_id)
    return owner, member, project_id, manifest


async def test_a_leavers_gc_keeps_a_workspace_state_they_uploaded(
    signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    owner, member, project_id, manifest = await _member_state_then_leave(signed_in)

    report = await collect(member.api, dryRun=False)
    assert report["orphanedBlobs"] == 0 and report["orphanedManifests"] == 0
    assert await _stored(resources, manifest) == (True, True)
    assert await _readme(owner.api, project_id, "w") == README.decode()


async def test_a_removed_members_gc_keeps_snapshots_others_registered(
    signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    """The owner registers the member's manifest (the project already used it), moves the
    workspace on, and removes the member: the snapshot still needs the member's bytes."""
    owner, member = await signed_in(), await signed_in()
    project_id, workspace_id = await _shared_project(owner, member)
    manifest = await set_current(member.api, workspace_id, {"README.md": README})
    await new_snapshot(owner.api, project_id, manifest)
    await set_current(owner.api, workspace_id, {"README.md": b"moved on"})
    await _remove(owner, project_id, member)

    report = await collect(member.api, dryRun=False)
    assert report["orphanedBlobs"] == 0 and report["orphanedManifests"] == 0
    assert await _stored(resources, manifest) == (True, True)
    # Still in the project for everyone: the member's manifest may come back as a state.
    await _point(owner.api, workspace_id, manifest)
    assert await _readme(owner.api, project_id, "w") == README.decode()


async def test_a_leavers_gc_keeps_their_own_snapshots(
    signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    owner, member = await signed_in(), await signed_in()
    project_id, _ = await _shared_project(owner, member)
    manifest = await upload_tree(member.api, {"README.md": README})
    await new_snapshot(member.api, project_id, manifest)
    await _leave(member, project_id)

    report = await collect(member.api, dryRun=False)
    assert report["orphanedBlobs"] == 0 and report["orphanedManifests"] == 0
    assert await _stored(resources, manifest) == (True, True)


async def test_a_leavers_objects_go_once_no_project_uses_them(
    signed_in: SignedInFactory, resources: Resources, no_grace: None
) -> None:
    owner, member, project_id, manifest = await _member_state_then_leave(signed_in)
    assert (await owner.api.delete(f"{API}/projects/{project_id}")).status_code == 204

    report = await collect(member.api, dryRun=False)
    assert report["orphanedBlobs"] == 1 and report["orphanedManifests"] == 1
    assert await _stored(resources, manifest) == (False, False)
