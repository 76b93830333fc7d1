"""The parsed-manifest cache is bounded by the memory it holds (ORBITER_MANIFEST_CACHE_BYTES),
whatever the number of manifests or entries, and its estimate of that memory is honest."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest
from asgi_lifespan import LifespanManager

from orbiter.blobs import access
from orbiter.blobs.manifest import Manifest, ManifestEntry, parse_manifest
from orbiter.blobs.manifest_cache import ManifestCache
from orbiter.core.settings import Settings
from orbiter.main import create_app
from tests.blobs.util import sha256


def manifest(entries: int, tag: str = "f") -> Manifest:
    files = [
        {"path": f"src/{tag}/module_{n}.py", "hash": sha256(f"{tag}{n}".encode()), "size": n}
        for n in range(entries)
    ]
    return parse_manifest(json.dumps({"version": 1, "files": files}).encode())


def test_the_estimate_is_within_a_factor_of_two_of_the_real_memory() -> None:
    raw = json.dumps(
        {
            "version": 1,
            "files": [
                {
                    "path": f"packages/pkg{n % 50}/src/components/file_{n}.tsx",
                    "hash": sha256(str(n).encode()),
                    "size": n * 13,
                    "mode": 0o644,
                    "mod_time": "2024-05-01T12:00:00.123456Z",
                }
                for n in range(20_000)
            ],
        }
    ).encode()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        parsed = parse_manifest(raw)
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held / 2 <= parsed.memory_bytes <= held * 2, (parsed.memory_bytes, held)


def test_the_cache_holds_at_most_its_byte_budget_evicting_the_least_recent() -> None:
    one, two, three = manifest(100, "a"), manifest(100, "b"), manifest(100, "c")
    cache = ManifestCache(max_bytes=one.memory_bytes + two.memory_bytes + 10)
    cache.put("one", one)
    cache.put("two", two)
    assert cache.get("one") is one  # now the most recent
    cache.put("three", three)
    assert cache.get("two") is None and cache.get("one") is one and cache.get("three") is three
    assert cache.held_bytes <= cache.max_bytes and len(cache) == 2


def test_a_manifest_larger_than_the_budget_is_not_cached() -> None:
    small, big = manifest(10), manifest(1000)
    cache = ManifestCache(max_bytes=big.memory_bytes - 1)
    cache.put("small", small)
    cache.put("big", big)
    assert cache.get("big") is None and cache.get("small") is small


def test_many_tiny_manifests_are_bounded_too() -> None:
    empty = Manifest(files=[ManifestEntry(path="a", hash=None, size=0, mode=0)], memory_bytes=401)
    cache = ManifestCache(max_bytes=401 * 50)
    for n in range(1000):
        cache.put(str(n), empty)
    assert len(cache) == 50 and cache.held_bytes == 401 * 50


def test_resizing_evicts_down_to_the_new_budget() -> None:
    cache = ManifestCache(max_bytes=10**9)
    for n in range(5):
        cache.put(str(n), manifest(50, str(n)))
    cache.resize(manifest(50).memory_bytes * 2)
    assert len(cache) == 2 and cache.get("4") is not None


def test_the_budget_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORBITER_MANIFEST_CACHE_BYTES", "1048576")
    assert Settings().manifest_cache_bytes == 1024**2
    assert Settings(_env_file=None).manifest_cache_bytes == 1024**2


async def test_the_app_applies_the_budget_at_start_up(migrated: Settings, tmp_path: Path) -> None:
    previous = access._manifests.max_bytes
    settings = migrated.model_copy(
        update={
            "manifest_cache_bytes": 123_456,
            "data_dir": tmp_path,
            "blob_store": "local",
            "database_url": migrated.effective_database_url,
        }
    )
    try:
        async with LifespanManager(create_app(settings)):
            assert access._manifests.max_bytes == 123_456
    finally:
        access.set_manifest_cache_bytes(previous)
