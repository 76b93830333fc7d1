"""Conversations: create, list across projects, read with context, rename/move, delete, clear,
project info; every bad input answers a clear error and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

from httpx import AsyncClient

from tests.blobs.util import upload_tree
from tests.conversations.util import new_conversation
from tests.helpers import SignedInFactory, add_member, assert_error, new_project
from tests.workspaces.util import new_workspace

URL = "/api/v1/conversations"


async def test_create_defaults_to_the_personal_project(browser: AsyncClient) -> None:
    created = await new_conversation(browser)
    projects = (await browser.get("/api/v1/projects")).json()["data"]
    personal = next(p for p in projects if p["is_personal"])
    assert created["project_id"] == personal["id"]
    assert created["project_name"] == personal["name"]
    assert created["workspace_id"] is None and created["workspace_name"] is None
    assert created["title"] is None and created["agent_id"] is None
    got = await browser.get(f"{URL}/{created['id']}")
    assert got.status_code == 200
    assert got.json() == created


async def test_create_in_a_project_and_workspace_with_title(browser: AsyncClient) -> None:
    project = await new_project(browser, "Shared")
    workspace = await new_workspace(browser, project, "laptop")
    created = await new_conversation(
        browser, project_id=project, workspace_id=workspace["id"], title="  Fix   login "
    )
    assert created["project_name"] == "Shared"
    assert created["workspace_id"] == workspace["id"]
    assert created["workspace_name"] == "laptop"
    assert created["title"] == "Fix login"
    events = (await browser.get(f"/api/v1/projects/{project}/events")).json()["data"]
    assert any(e["type"] == "conversation.created" for e in events)


async def test_bad_creates_are_refused_and_store_nothing(
    browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    project = await new_project(browser, "Shared")
    other = await signed_in()
    foreign_project = await new_project(other.browser, "Theirs")
    foreign_workspace = await new_workspace(other.browser, foreign_project, "laptop")
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"agent_id": str(uuid.uuid4())}, 422, "VALIDATION_ERROR"),
        ({"project_id": foreign_project}, 404, "RESOURCE_NOT_FOUND"),
        ({"project_id": str(uuid.uuid4())}, 404, "RESOURCE_NOT_FOUND"),
        (
            {"project_id": project, "workspace_id": foreign_workspace["id"]},
            422,
            "VALIDATION_ERROR",
        ),
        ({"workspace_id": str(uuid.uuid4())}, 422, "VALIDATION_ERROR"),
        ({"title": "   "}, 422, "VALIDATION_ERROR"),
        ({"title": "x" * 301}, 422, "VALIDATION_ERROR"),
        ({"title": "a\x00b"}, 422, "VALIDATION_ERROR"),
        ({"unknown": 1}, 422, "VALIDATION_ERROR"),
        ({"project_id": "not-a-uuid"}, 422, "VALIDATION_ERROR"),
    ]
    for body, status, code in cases:
        error = assert_error(await browser.post(URL, json=body), status, code)
        if body.get("agent_id"):
            assert error["details"]["fields"][0]["field"] == "agent_id"
    listed = await browser.get(URL)
    assert listed.json()["data"] == [] and listed.json()["pagination"]["total"] == 0


async def test_viewer_reads_but_cannot_write(
    browser: AsyncClient, signed_in: SignedInFactory
) -> None:
    project = await new_project(browser, "Shared")
    viewer = await signed_in()
    await add_member(browser, project, viewer.browser, viewer.email, "viewer")
    conversation = await new_conversation(browser, project_id=project, title="Plans")
    cid = conversation["id"]
    assert (await viewer.api.get(f"{URL}/{cid}")).json()["title"] == "Plans"
    assert (await viewer.api.get(f"{URL}/{cid}/messages")).status_code == 200
    assert_error(await viewer.api.post(URL, json={"project_id": project}), 403, "FORBIDDEN")
    assert_error(await viewer.api.patch(f"{URL}/{cid}", json={"title": "x"}), 403, "FORBIDDEN")
    assert_error(await viewer.api.post(f"{URL}/{cid}/clear"), 403, "FORBIDDEN")
    assert_error(
        await viewer.api.post(f"{URL}/{cid}/messages", json={"content": "hi"}), 403, "FORBIDDEN"
    )
    assert_error(await viewer.api.delete(f"{URL}/{cid}"), 403, "FORBIDDEN")
    assert (await browser.get(f"{URL}/{cid}")).json()["title"] == "Plans"
    listed = (await viewer.api.get(URL)).json()
    assert [c["id"] for c in listed["data"]] == [cid]


async def test_list_spans_projects_newest_first_and_pages(browser: AsyncClient) -> None:
    project = await new_project(browser, "Shared")
    workspace = await new_workspace(browser, project, "laptop")
    ids = []
    for number in range(5):
        body: dict[str, Any] = {"title": f"c{number}"}
        if number % 2:
            body |= {"project_id": project, "workspace_id": workspace["id"]}
        ids.append((await new_conversation(browser, **body))["id"])
    first = (await browser.get(URL, params={"limit": 3})).json()
    assert first["pagination"]["total"] == 5 and first["pagination"]["has_more"] is True
    second = (
        await browser.get(URL, params={"limit": 3, "cursor": first["pagination"]["next_cursor"]})
    ).json()
    assert second["pagination"]["has_more"] is False
    seen = [c["id"] for c in first["data"] + second["data"]]
    assert seen == list(reversed(ids))
    by_id = {c["id"]: c for c in first["data"] + second["data"]}
    assert by_id[ids[1]]["project_name"] == "Shared"
    assert by_id[ids[1]]["workspace_name"] == "laptop"
    assert by_id[ids[0]]["workspace_name"] is None
    only = (await browser.get(URL, params={"project_id": project})).json()
    assert {c["id"] for c in only["data"]} == {ids[1], ids[3]}
    assert_error(await browser.get(URL, params={"cursor": "forged"}), 400, "BAD_REQUEST")


async def test_patch_renames_and_moves_within_the_project_only(
    browser: AsyncClient,
) -> None:
    project = await new_project(browser, "Shared")
    first = await new_workspace(browser, project, "one")
    second = await new_workspace(browser, project, "two")
    elsewhere = await new_workspace(browser, await new_project(browser, "Other"), "three")
    conversation = await new_conversation(browser, project_id=project, workspace_id=first["id"])
    url = f"{URL}/{conversation['id']}"
    renamed = await browser.patch(url, json={"title": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["title"] == "Renamed"
    moved = await browser.patch(url, json={"workspace_id": second["id"]})
    assert moved.json()["workspace_id"] == second["id"]
    assert moved.json()["workspace_name"] == "two" and moved.json()["title"] == "Renamed"
    for body in (
        {"workspace_id": elsewhere["id"]},
        {"workspace_id": str(uuid.uuid4())},
        {},
        {"title": ""},
        {"project_id": project},
    ):
        assert_error(await browser.patch(url, json=body), 422, "VALIDATION_ERROR")
    current = (await browser.get(url)).json()
    assert current["workspace_id"] == second["id"] and current["title"] == "Renamed"
    detached = await browser.patch(url, json={"workspace_id": None})
    assert detached.json()["workspace_id"] is None


async def test_delete_removes_it(browser: AsyncClient) -> None:
    conversation = await new_conversation(browser, title="Bye")
    url = f"{URL}/{conversation['id']}"
    deleted = await browser.delete(url)
    assert deleted.status_code == 204 and deleted.content == b""
    assert_error(await browser.get(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.delete(url), 404, "RESOURCE_NOT_FOUND")
    assert_error(await browser.get(f"{url}/messages"), 404, "RESOURCE_NOT_FOUND")


async def test_empty_conversation_reads(browser: AsyncClient) -> None:
    conversation = await new_conversation(browser)
    url = f"{URL}/{conversation['id']}"
    for path in ("messages", "message-parts", "timeline"):
        page = (await browser.get(f"{url}/{path}")).json()
        assert page == {
            "data": [],
            "pagination": {"next_cursor": None, "has_more": False, "total": 0},
        }
    cleared = await browser.post(f"{url}/clear")
    assert cleared.status_code == 200 and cleared.json() == {"cleared": 0}
    assert_error(
        await browser.get(f"{url}/messages", params={"before": str(uuid.uuid4())}),
        400,
        "BAD_REQUEST",
    )


async def test_project_info_summarises_the_current_manifest(browser: AsyncClient) -> None:
    project = await new_project(browser, "Shared")
    workspace = await new_workspace(browser, project, "laptop")
    conversation = await new_conversation(browser, project_id=project, workspace_id=workspace["id"])
    url = f"{URL}/{conversation['id']}/project-info"
    info = (await browser.get(url)).json()
    assert info["project"] == {
        "id": project,
        "name": "Shared",
        "is_personal": False,
        "role": "owner",
    }
    assert info["workspace"]["id"] == workspace["id"] and info["manifest"] is None
    manifest_hash = await upload_tree(browser, {"a.txt": b"hello", "src/b.py": b"print(1)\n"})
    moved = await browser.post(
        f"/api/v1/workspaces/{workspace['id']}/current-manifest",
        json={"manifest_hash": manifest_hash},
    )
    assert moved.status_code == 200, moved.text
    info = (await browser.get(url)).json()
    assert info["workspace"]["current_manifest_hash"] == manifest_hash
    assert info["manifest"] == {"hash": manifest_hash, "file_count": 2, "total_bytes": 14}
    bare = await new_conversation(browser)
    bare_info = (await browser.get(f"{URL}/{bare['id']}/project-info")).json()
    assert bare_info["workspace"] is None and bare_info["manifest"] is None
    assert bare_info["project"]["is_personal"] is True
