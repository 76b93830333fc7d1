"""PUT /blobs/manifests/{hash} validates everything a later reader relies on: 422 naming the
bad entries (`details.entries`), nothing stored; the borderline cases that are fine pass."""

from __future__ import annotations

import json
import os
import threading
from typing import Any

import pytest
from httpx import AsyncClient

from orbiter.blobs import access
from orbiter.blobs.manifest import manifest_key, parse_manifest
from orbiter.runtime.resources import Resources
from tests.blobs.util import sha256
from tests.helpers import assert_error

MODE = 0o644
HASH = sha256(b"x")


def entry(path: str, **extra: Any) -> dict[str, Any]:
    return {"path": path, "hash": HASH, "size": 1, "mode": MODE, **extra}


def link(path: str, target: str) -> dict[str, Any]:
    return {"path": path, "type": "symlink", "target": target, "size": 0, "mode": 0o777}


def document(files: list[dict[str, Any]], **top: Any) -> bytes:
    return json.dumps({"version": 1, "files": files, **top}).encode()


async def put(client: AsyncClient, raw: bytes) -> Any:
    return await client.put(f"/api/v1/blobs/manifests/{sha256(raw)}", content=raw)


async def assert_refused(client: AsyncClient, resources: Resources, raw: bytes) -> dict[str, Any]:
    error = assert_error(await put(client, raw), 422, "VALIDATION_ERROR")
    assert not await resources.blobs.exists(manifest_key(sha256(raw)))
    stats = (await client.get("/api/v1/blobs/stats")).json()
    assert stats["manifests"]["count"] == 0
    return error


BAD_ENTRIES = [
    pytest.param(entry("a", size=2**63), "size", id="size-over-int64"),
    pytest.param(entry("a", size=6 * 1024**3), "at most", id="size-over-blob-limit"),
    pytest.param(entry("a", size=1.5), "size", id="size-float"),
    pytest.param(entry("a", size=True), "size", id="size-bool"),
    pytest.param(entry("a", mode=0o4755), "setuid", id="setuid"),
    pytest.param(entry("a", mode=0o2755), "setuid", id="setgid"),
    pytest.param(entry("a", mode=0o1777), "sticky", id="sticky"),
    pytest.param(entry("a", mode=0o140644), "type bits", id="socket-type-bits"),
    pytest.param(entry("a", mode=0o040755), "type bits", id="dir-bits-on-a-file"),
    pytest.param(entry("a", mode=-1), "mode", id="negative-mode"),
    pytest.param(entry("a\x1bb"), "control", id="escape-char"),
    pytest.param(entry("a\nb"), "control", id="newline"),
    pytest.param(entry("a\x85b"), "control", id="c1-control"),
    pytest.param(entry("invoice\u202egpj.exe"), "bidi", id="bidi-override"),
    pytest.param(entry("a\u2066b"), "bidi", id="bidi-isolate"),
    pytest.param(entry("cafe\u0301.md"), "NFC", id="not-nfc"),
    pytest.param(entry("a" * 256), "segment", id="segment-too-long"),
    pytest.param(entry("a/" * 2100 + "b"), "4096", id="path-too-long"),
    pytest.param(entry("."), "normalised", id="dot"),
    pytest.param(entry("a/./b"), "normalised", id="dot-segment"),
    pytest.param(entry("C:x"), "relative", id="drive-letter"),
    pytest.param(link("l", "/etc/passwd"), "relative", id="absolute-target"),
    pytest.param(link("l", "../outside"), "inside", id="target-escapes"),
    pytest.param(link("a/l", "../../outside"), "inside", id="target-escapes-from-dir"),
    pytest.param(link("a/l", "x/../.."), "start", id="dotdot-after-a-name"),
    pytest.param(link("l", "a\x00b"), "control", id="target-nul"),
    pytest.param(link("l", "C:\\Windows"), "relative", id="target-windows"),
    pytest.param(entry("a", mod_time=[1]), "mod_time", id="mod-time-list"),
    pytest.param(entry("a", mod_time="x" * 65), "mod_time", id="mod-time-long"),
    pytest.param(entry("a", extra=[[[[[[[[1]]]]]]]]), "deeper", id="nested-extra-member"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ENTRIES)
async def test_a_bad_entry_is_named_in_details(
    browser: AsyncClient, resources: Resources, bad: dict[str, Any], message: str
) -> None:
    raw = document([entry("ok.txt"), bad])
    error = await assert_refused(browser, resources, raw)
    [problem] = error["details"]["entries"]
    assert problem["index"] == 1 and message in problem["message"], problem
    assert problem["path"] == bad["path"]


async def test_a_lone_surrogate_is_refused_and_reported_printably(
    browser: AsyncClient, resources: Resources
) -> None:
    raw = b'{"version": 1, "files": [{"path": "a\\ud800b", "hash": "%s", "size": 1}]}' % (
        HASH.encode()
    )
    error = await assert_refused(browser, resources, raw)
    [problem] = error["details"]["entries"]
    assert problem["path"] == "a\\ud800b" and "surrogate" in problem["message"]


@pytest.mark.parametrize(
    ("files", "bad_index", "parent"),
    [
        ([entry("a"), entry("a/b")], 1, "file"),
        ([entry("a/b/c"), entry("a")], 0, "file"),
        ([link("a", "x"), entry("a/b")], 1, "symlink"),
    ],
    ids=["file-then-child", "child-then-file", "child-of-a-symlink"],
)
async def test_a_file_or_symlink_cannot_be_a_directory_too(
    browser: AsyncClient,
    resources: Resources,
    files: list[dict[str, Any]],
    bad_index: int,
    parent: str,
) -> None:
    error = await assert_refused(browser, resources, document(files))
    [problem] = error["details"]["entries"]
    assert problem["index"] == bad_index and f"is a {parent}" in problem["message"]


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'{"version": 1, "version": 1, "files": []}', id="duplicate-top-key"),
        pytest.param(
            b'{"version": 1, "files": [{"path": "a", "path": "b", "hash": "%s"}]}' % HASH.encode(),
            id="duplicate-entry-key",
        ),
        pytest.param(b'{"version": true, "files": []}', id="version-true"),
        pytest.param(b'{"version": 1.0, "files": []}', id="version-float"),
        pytest.param(b'{"version": "01", "files": []}', id="version-string-01"),
        pytest.param(b'{"version": 1, "files": [], "x": NaN}', id="nan"),
        pytest.param(b'{"version": 1, "files": [], "x": 1e999}', id="infinite-number"),
        pytest.param(b'{"version": 1, "files": [], "x": %s}' % (b"9" * 5000), id="huge-int"),
        pytest.param(b'{"version": 1, "files": [], "x": %s}' % (b"9" * 40), id="long-int"),
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="deeply-nested"),
        pytest.param(
            b'{"version": 1, "files": [], "x": ' + b"[" * 20 + b"]" * 20 + b"}", id="nest"
        ),
        pytest.param(b"\xff\xfe{}", id="not-utf8"),
        pytest.param('{"version": 1, "files": []}'.encode("utf-16"), id="utf16"),
    ],
)
async def test_documents_that_are_not_plain_json_are_refused(
    browser: AsyncClient, resources: Resources, raw: bytes
) -> None:
    await assert_refused(browser, resources, raw)


async def test_entries_whose_sizes_add_up_past_int64_are_refused(
    browser: AsyncClient, resources: Resources, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(resources.settings, "max_blob_bytes", 2**63 - 1)
    raw = document([entry("a", size=2**62), entry("b", size=2**62)])
    error = await assert_refused(browser, resources, raw)
    assert "add up" in error["message"]


async def test_at_most_100_bad_entries_are_listed(
    browser: AsyncClient, resources: Resources
) -> None:
    raw = document([entry(f"bad\x07{n}") for n in range(150)])
    error = await assert_refused(browser, resources, raw)
    assert len(error["details"]["entries"]) == 100


async def test_borderline_manifests_are_accepted(
    browser: AsyncClient, resources: Resources
) -> None:
    files = [
        entry("ünïcödé/日本語.md"),
        entry("a" * 255),
        entry("/".join(["d" * 200] * 20)),  # 4019 bytes: under PATH_MAX
        entry("exe", mode=0o100755),
        entry("plain", mode=0o755, mod_time="2024-01-01T00:00:00Z"),
        entry("numbered", mod_time=1_700_000_000.5, size=resources.settings.max_blob_bytes),
        {"path": "d", "type": "dir", "size": 0, "mode": 0o040755},
        {"path": "d/e", "type": "dir", "size": 0, "mode": 0o755},
        link("d/e/up", "../../a" + "a" * 254),
        link("d/self", "."),
        link("d/e/here", "./x/./y"),
        link("top", "d/e"),
        entry("extra", sha1="ab", nested={"a": [1, {"b": 2}]}),
    ]
    raw = json.dumps({"version": "1", "files": files, "generator": {"name": "cli"}}).encode()
    response = await put(browser, raw)
    assert response.status_code == 201, response.text
    listed = await browser.get(f"/api/v1/blobs/manifests/{sha256(raw)}")
    assert listed.content == raw


async def test_large_manifests_are_parsed_off_the_event_loop(
    browser: AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    threads: list[str] = []
    real = parse_manifest

    def spy(raw: bytes, **kwargs: Any) -> Any:
        threads.append(threading.current_thread().name)
        return real(raw, **kwargs)

    monkeypatch.setattr(access, "parse_manifest", spy)
    nonce = os.urandom(4).hex()
    big = document([entry(f"{nonce}/file-{n:05}.txt") for n in range(2000)])
    small = document([entry(f"{nonce}.txt")])
    assert len(big) > access.PARSE_IN_THREAD_BYTES > len(small)
    assert (await put(browser, big)).status_code == 201
    assert (await put(browser, small)).status_code == 201
    main = threading.main_thread().name
    assert threads[0] != main and threads[1] == main
