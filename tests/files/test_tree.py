"""Writing files and reading them back: content, the nested tree, deletes, batches, limits."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.runtime.resources import Resources
from tests.files.util import (
    FILES,
    batch,
    content,
    create,
    files_of,
    flatten,
    remove,
    text_of,
    tree,
    update,
)
from tests.helpers import assert_error, new_project
from tests.workspaces.util import new_workspace, set_current


async def test_a_written_file_reads_back_with_its_content_and_place_in_the_tree(
    browser: AsyncClient,
) -> None:
    assert await tree(browser) == []  # nothing written yet: an empty scratch workspace
    made = await create(browser, "src/app/main.py", "print('hi')\n")
    assert made["success"] is True
    assert made["file"] == {
        "path": "src/app/main.py",
        "name": "main.py",
        "parent_path": "src/app",
        "is_directory": False,
        "size_bytes": 12,
        "hash": made["file"]["hash"],
    }
    await create(browser, "README.md", "# hello")
    await create(browser, "src/docs", isDirectory=True)
    binary = bytes(range(256))
    await create(browser, "img/logo.png", base64.b64encode(binary).decode(), encoding="base64")

    nodes = await tree(browser)
    assert [n["name"] for n in nodes] == ["img", "src", "README.md"]  # directories first
    src = nodes[1]
    assert (src["path"], src["isDirectory"]) == ("src", True)
    assert [(c["name"], c["isDirectory"]) for c in src["children"]] == [
        ("app", True),
        ("docs", True),
    ]
    [main] = src["children"][0]["children"]
    assert main == {
        "name": "main.py",
        "path": "src/app/main.py",
        "isDirectory": False,
        "size": 12,
        "hash": made["file"]["hash"],
        "type": "file",
    }
    assert src["children"][1]["children"] == []  # an empty directory stays

    read = (await content(browser, "src/app/main.py")).json()
    assert read["content"] == "print('hi')\n" and read["name"] == "main.py"
    assert read["path"] == "src/app/main.py" and read["encoding"] == "utf-8"
    logo = (await content(browser, "img/logo.png")).json()
    assert logo["encoding"] == "base64" and base64.b64decode(logo["content"]) == binary

    updated = await update(browser, "src/app/main.py", "print('bye')\n")
    assert updated.status_code == 200, updated.text
    assert await text_of(browser, "src/app/main.py") == "print('bye')\n"


async def test_paths_are_normalised(browser: AsyncClient) -> None:
    await create(browser, "./src//a.py", "x")
    assert await files_of(browser) == {"src/a.py"}
    assert await text_of(browser, "src/a.py") == "x"


async def test_deleting_a_file_or_a_directory_with_everything_below(browser: AsyncClient) -> None:
    for path in ("src/a.py", "src/lib/b.py", "src/lib/deep/c.py", "top.txt"):
        await create(browser, path, path)
    deleted = await remove(browser, "src/a.py")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json()["success"] is True
    assert await files_of(browser) == {"src/lib/b.py", "src/lib/deep/c.py", "top.txt"}

    assert (await remove(browser, "src/lib")).status_code == 200
    assert flatten(await tree(browser)) == {"src": True, "top.txt": False}  # src stays, empty
    assert_error(await content(browser, "src/lib/b.py"), 404, "RESOURCE_NOT_FOUND")
    assert_error(await remove(browser, "src/lib"), 404, "RESOURCE_NOT_FOUND")


async def test_create_refuses_an_existing_path_and_update_a_missing_file(
    browser: AsyncClient,
) -> None:
    await create(browser, "a.txt", "one")
    clash = await browser.post(FILES, json={"path": "a.txt", "content": "two"})
    assert assert_error(clash, 409, "CONFLICT")["details"]["path"] == "a.txt"
    assert_error(await update(browser, "b.txt", "new"), 404, "RESOURCE_NOT_FOUND")
    under_a_file = await browser.post(FILES, json={"path": "a.txt/inner", "content": "x"})
    assert_error(under_a_file, 400, "BAD_REQUEST")
    assert await files_of(browser) == {"a.txt"}
    assert await text_of(browser, "a.txt") == "one"


async def test_a_batch_is_one_change_all_or_nothing(browser: AsyncClient) -> None:
    await create(browser, "keep.txt", "keep")
    await create(browser, "old/name.txt", "moved")
    applied = await batch(
        browser,
        [
            {"op": "create", "path": "new/a.txt", "content": "a"},
            {"op": "update", "path": "keep.txt", "content": "kept"},
            {"op": "move", "path": "old", "to": "renamed"},
            {"op": "create", "path": "empty", "isDirectory": True},
        ],
    )
    assert applied.status_code == 200, applied.text
    body = applied.json()
    assert [f["path"] for f in body["files"]] == ["new/a.txt", "keep.txt", "renamed", "empty"]
    after = await tree(browser)
    assert await files_of(browser) == {"keep.txt", "new/a.txt", "renamed/name.txt"}
    assert await text_of(browser, "renamed/name.txt") == "moved"

    failing: list[list[dict[str, Any]]] = [
        [  # the last operation's path is bad
            {"op": "create", "path": "b.txt", "content": "b"},
            {"op": "delete", "path": "keep.txt"},
            {"op": "create", "path": "../escape", "content": "x"},
        ],
        [  # the last operation finds nothing to update
            {"op": "create", "path": "b.txt", "content": "b"},
            {"op": "delete", "path": "keep.txt"},
            {"op": "update", "path": "missing.txt", "content": "x"},
        ],
    ]
    for operations, status, code in zip(
        failing, (400, 404), ("BAD_REQUEST", "RESOURCE_NOT_FOUND"), strict=True
    ):
        error = assert_error(await batch(browser, operations), status, code)
        assert error["details"]["operation"] == 2
    assert await tree(browser) == after  # nothing of either batch happened
    assert await text_of(browser, "keep.txt") == "kept"


BAD_PATHS = [
    "../etc/passwd",
    "src/../../x",
    "/etc/passwd",
    "a\x00b",
    "a/" * 2100 + "b",  # over 4096 bytes, and too deep
    "x/" * 60 + "y" * 250 + "/" + "z" * 5000,  # over 4096 bytes
    "x" * 256,  # one segment over 255 bytes
    "a\\b",
    "C:/windows",
    "bidi\u202etxt.exe",
    "new\nline",
    ".",
    "/",
    "/".join(["d"] * 65),  # deeper than the tree goes
]


async def test_bad_paths_are_400_and_nothing_is_written(browser: AsyncClient) -> None:
    await create(browser, "ok.txt", "ok")
    before = await tree(browser)
    for path in BAD_PATHS:
        for response in (
            await browser.post(FILES, json={"path": path, "content": "x"}),
            await update(browser, path, "x"),
            await remove(browser, path),
            await batch(browser, [{"op": "move", "path": "ok.txt", "to": path}]),
        ):
            error = assert_error(response, 400, "BAD_REQUEST")
            assert error["message"].startswith("Bad path"), (path, error)
    assert_error(await content(browser, "../ok.txt"), 400, "BAD_REQUEST")
    assert await tree(browser) == before


async def test_oversize_content_is_413_and_nothing_is_written(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "files_max_file_bytes", 1000)
    await create(browser, "small.txt", "x" * 1000)
    too_big = await browser.post(FILES, json={"path": "big.txt", "content": "x" * 1001})
    assert assert_error(too_big, 413, "PAYLOAD_TOO_LARGE")["details"]["max_bytes"] == 1000
    assert_error(await update(browser, "small.txt", "é" * 501), 413, "PAYLOAD_TOO_LARGE")
    monkeypatch.setattr(resources.settings, "files_max_request_bytes", 4096)
    body = [{"op": "create", "path": f"f{i}.txt", "content": "y" * 900} for i in range(5)]
    assert_error(await batch(browser, body), 413, "PAYLOAD_TOO_LARGE")
    not_base64 = {"path": "bad.bin", "content": "**", "encoding": "base64"}
    assert_error(await browser.post(FILES, json=not_base64), 422, "VALIDATION_ERROR")
    lone_surrogate = b'{"path": "bad.txt", "content": "\\ud800"}'
    headers = {"Content-Type": "application/json"}
    sent = await browser.post(FILES, content=lone_surrogate, headers=headers)
    assert_error(sent, 422, "VALIDATION_ERROR")
    assert await files_of(browser) == {"small.txt"}
    assert await text_of(browser, "small.txt") == "x" * 1000


async def test_a_tree_deeper_than_files_writes_is_cut_and_marked(browser: AsyncClient) -> None:
    project_id = await new_project(browser)
    workspace_id = str((await new_workspace(browser, project_id, "deep"))["id"])
    deep = "/".join(["d"] * 70) + "/f.txt"  # a CLI may upload what /files would refuse
    await set_current(browser, workspace_id, {deep: b"deep", "top.txt": b"top"})
    nodes = await tree(browser, workspace_id)
    assert [n["path"] for n in nodes] == ["d", "top.txt"]
    node = nodes[0]
    for depth in range(1, 64):
        assert "truncated" not in node, depth
        [node] = node["children"]
    assert node["path"] == "/".join(["d"] * 64)
    assert node["truncated"] is True and node["children"] == []
