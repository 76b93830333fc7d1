"""Project docs: documentation files found in every workspace's current manifest, and their
content read from the blob store, through HTTP."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi import FastAPI

from orbiter.blobs.manifest import blob_key
from orbiter.runtime.resources import Resources
from tests.blobs.util import upload_blob
from tests.docs.conftest import PROJECTS, DocsProject
from tests.helpers import SignedInFactory, add_member, assert_error, new_client

README = b"# Orbiter\n\nSelf-hostable backend.\n"
TREE = {
    "README.md": README,
    "docs/guide.MDX": b"<Guide />\n",
    "docs/api.rst": b"API\n===\n",
    "docs/manual.adoc": b"= Manual\n",
    "NOTES.TXT": b"remember\n",
    "LICENSE": b"MIT\n",
    "CHANGELOG.markdown": b"## 1.0\n",
    "src/app.py": b"print('hi')\n",
    "src/readme.md.bak": b"old\n",
    "logo.png": b"\x89PNG\r\n",
    "Makefile": b"all:\n",
    ".md": b"hidden, no name\n",
}
DOCS = sorted(
    [
        "CHANGELOG.markdown",
        "LICENSE",
        "NOTES.TXT",
        "README.md",
        "docs/api.rst",
        "docs/guide.MDX",
        "docs/manual.adoc",
    ]
)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def listing(docs: DocsProject) -> dict[str, Any]:
    response = await docs.person.browser.get(docs.url)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_a_project_without_workspaces_has_no_docs(docs: DocsProject) -> None:
    assert await listing(docs) == {"workspaces": [], "total_files": 0}


async def test_docs_are_listed_per_workspace_from_current_manifests(docs: DocsProject) -> None:
    main = await docs.workspace("main", TREE)
    feature = await docs.workspace("feature", {"CHANGES.md": b"new\n", "app.py": b"x\n"})
    empty = await docs.workspace("fresh")

    body = await listing(docs)
    assert body["total_files"] == len(DOCS) + 1
    assert [w["workspace_id"] for w in body["workspaces"]] == [main, feature, empty]
    first, second, third = body["workspaces"]
    assert first["workspace_name"] == "main"
    assert [f["path"] for f in first["files"]] == DOCS
    readme = next(f for f in first["files"] if f["path"] == "README.md")
    assert readme == {"path": "README.md", "size": len(README), "hash": sha(README)}
    assert [f["path"] for f in second["files"]] == ["CHANGES.md"]
    assert third == {
        "workspace_id": empty,
        "workspace_name": "fresh",
        "manifest_hash": None,
        "files": [],
    }


async def test_symlinks_and_directories_are_not_docs(docs: DocsProject) -> None:
    target = await upload_blob(docs.person.api, b"real\n")
    await docs.workspace(
        "links",
        files=[
            {"path": "real.md", "hash": target, "size": 5, "mode": 0o644},
            {"path": "alias.md", "type": "symlink", "target": "real.md", "size": 0, "mode": 0o777},
            {"path": "notes.md", "type": "dir", "size": 0, "mode": 0o755},
        ],
    )
    [workspace] = (await listing(docs))["workspaces"]
    assert [f["path"] for f in workspace["files"]] == ["real.md"]
    response = await docs.content("links", "alias.md")
    assert_error(response, 404, "RESOURCE_NOT_FOUND")


@pytest.mark.parametrize("by", ["id", "name"])
async def test_content_comes_from_the_blob_store(docs: DocsProject, by: str) -> None:
    workspace_id = await docs.workspace("main", TREE)
    response = await docs.content(workspace_id if by == "id" else "main", "README.md")
    assert response.status_code == 200, response.text
    assert response.json() == {
        "content": README.decode(),
        "path": "README.md",
        "workspace_id": workspace_id,
        "workspace_name": "main",
        "size": len(README),
    }
    for path in ("docs/guide.MDX", "LICENSE", "NOTES.TXT"):
        other = await docs.content("main", path)
        assert other.status_code == 200, other.text
        assert other.json()["content"] == TREE[path].decode()


async def test_each_workspace_serves_its_own_version(docs: DocsProject) -> None:
    await docs.workspace("main", {"README.md": b"main version\n"})
    await docs.workspace("feature", {"README.md": b"feature version\n"})
    assert (await docs.content("main", "README.md")).json()["content"] == "main version\n"
    assert (await docs.content("feature", "README.md")).json()["content"] == "feature version\n"


async def test_invalid_utf8_is_shown_with_replacement_characters(docs: DocsProject) -> None:
    raw = "café".encode("latin-1") + b" \xff\xfe ok\n"
    await docs.workspace("main", {"latin.txt": raw})
    response = await docs.content("main", "latin.txt")
    assert response.status_code == 200, response.text
    assert response.json()["content"] == "caf\ufffd \ufffd\ufffd ok\n"
    assert response.json()["size"] == len(raw)


@pytest.mark.parametrize("path", ["src/app.py", "logo.png", "Makefile", "setup.cfg", "a.md.bak"])
async def test_only_documentation_files_can_be_read(docs: DocsProject, path: str) -> None:
    await docs.workspace("main", TREE)
    error = assert_error(await docs.content("main", path), 400, "BAD_REQUEST")
    assert ".md" in error["message"]
    assert error["details"] == {"path": path}


@pytest.mark.parametrize(
    "path", ["missing.md", "readme.md", "/README.md", "./README.md", "../README.md", "docs"]
)
async def test_a_path_not_in_the_manifest_is_404(docs: DocsProject, path: str) -> None:
    await docs.workspace("main", TREE)
    response = await docs.content("main", path)
    if path == "docs":
        assert_error(response, 400, "BAD_REQUEST")
    else:
        assert_error(response, 404, "RESOURCE_NOT_FOUND")


async def test_unknown_workspaces_and_workspaces_without_a_manifest_are_404(
    docs: DocsProject,
) -> None:
    await docs.workspace("main", TREE)
    fresh = await docs.workspace("fresh")
    for workspace in ("nope", "00000000-0000-4000-8000-000000000000", fresh, "fresh", "ma\x00in"):
        assert_error(await docs.content(workspace, "README.md"), 404, "RESOURCE_NOT_FOUND")


async def test_a_workspace_of_another_project_is_not_found_here(docs: DocsProject) -> None:
    other = await docs.person.browser.post(PROJECTS, json={"name": "Other"})
    elsewhere = DocsProject(docs.person, str(other.json()["id"]))
    theirs = await elsewhere.workspace("elsewhere", {"README.md": README})
    for workspace in (theirs, "elsewhere"):
        assert_error(await docs.content(workspace, "README.md"), 404, "RESOURCE_NOT_FOUND")
    assert (await elsewhere.content(theirs, "README.md")).status_code == 200


async def test_query_parameters_are_required(docs: DocsProject) -> None:
    await docs.workspace("main", TREE)
    for params in (
        {},
        {"workspace": "main"},
        {"path": "README.md"},
        {"workspace": "", "path": "a.md"},
    ):
        response = await docs.person.browser.get(f"{docs.url}/content", params=params)
        assert_error(response, 422, "VALIDATION_ERROR")


async def test_documents_over_the_size_limit_are_413(
    docs: DocsProject, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_doc_bytes", 100)
    await docs.workspace("main", {"exact.md": b"x" * 100, "big.md": b"y" * 101})
    assert (await docs.content("main", "exact.md")).json()["size"] == 100
    error = assert_error(await docs.content("main", "big.md"), 413, "PAYLOAD_TOO_LARGE")
    assert "101 bytes" in error["message"] and "100" in error["message"]
    assert error["details"] == {"size": 101, "limit": 100}
    # The listing still names it: only reading it is refused.
    [workspace] = (await listing(docs))["workspaces"]
    assert {f["path"] for f in workspace["files"]} == {"exact.md", "big.md"}


async def test_a_manifest_understating_a_size_cannot_get_past_the_limit(
    docs: DocsProject, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_doc_bytes", 1000)
    large = b"z" * 50_000
    digest = await upload_blob(docs.person.api, large)
    await docs.workspace("main", files=[{"path": "liar.md", "hash": digest, "size": 10}])
    error = assert_error(await docs.content("main", "liar.md"), 413, "PAYLOAD_TOO_LARGE")
    assert error["details"]["limit"] == 1000


async def test_content_missing_from_the_store_is_404_like_an_unknown_path(
    docs: DocsProject, resources: Resources
) -> None:
    await docs.workspace("main", {"README.md": README})
    await resources.blobs.delete(blob_key(sha(README)))
    error = assert_error(await docs.content("main", "README.md"), 404, "RESOURCE_NOT_FOUND")
    unknown = assert_error(await docs.content("main", "OTHER.md"), 404, "RESOURCE_NOT_FOUND")
    assert error["message"] == unknown["message"]
    assert error["details"] == {**unknown["details"], "path": "README.md"}


async def test_any_member_may_read_docs(docs: DocsProject, signed_in: SignedInFactory) -> None:
    await docs.workspace("main", TREE)
    viewer = await signed_in()
    await add_member(docs.person.browser, docs.project_id, viewer.browser, viewer.email, "viewer")
    for client in viewer.clients().values():
        listed = await client.get(docs.url)
        assert listed.status_code == 200 and listed.json()["total_files"] == len(DOCS)
        read = await docs.content("main", "README.md", client)
        assert read.status_code == 200 and read.json()["content"] == README.decode()


async def test_a_stranger_gets_404_on_every_route_with_every_credential(
    docs: DocsProject, signed_in: SignedInFactory, app: FastAPI
) -> None:
    main = await docs.workspace("main", TREE)
    stranger = await signed_in()
    for client in stranger.clients().values():
        for response in (
            await client.get(docs.url),
            await docs.content(main, "README.md", client),
            await docs.content("main", "README.md", client),
        ):
            error = assert_error(response, 404, "RESOURCE_NOT_FOUND")
            assert error["message"] == "Project not found"
            assert "Orbiter" not in response.text
    async with new_client(app) as anonymous:
        assert_error(await anonymous.get(docs.url), 401, "UNAUTHORIZED")
