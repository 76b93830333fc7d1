"""Parsed manifests, read once: a manifest's content never changes under its hash, so an
in-process LRU saves re-reading and re-parsing the same large manifests for every drift
compare, snapshot diff or docs listing.

The cache is bounded by the estimated memory of what it holds (`Manifest.memory_bytes`), set
by `ORBITER_MANIFEST_CACHE_BYTES`; a manifest larger than the whole budget is not cached.
"""

from __future__ import annotations

from collections import OrderedDict

from orbiter.blobs.manifest import Manifest

DEFAULT_MAX_BYTES = 128 * 1024**2


class ManifestCache:
    def __init__(self, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.held_bytes = 0
        self._items: OrderedDict[str, Manifest] = OrderedDict()

    def __len__(self) -> int:
        return len(self._items)

    def resize(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._evict()

    def get(self, hash_: str) -> Manifest | None:
        manifest = self._items.get(hash_)
        if manifest is not None:
            self._items.move_to_end(hash_)
        return manifest

    def put(self, hash_: str, manifest: Manifest) -> None:
        if manifest.memory_bytes > self.max_bytes or hash_ in self._items:
            return
        self._items[hash_] = manifest
        self.held_bytes += manifest.memory_bytes
        self._evict()

    def _evict(self) -> None:
        while self.held_bytes > self.max_bytes and self._items:
            _, evicted = self._items.popitem(last=False)
            self.held_bytes -= evicted.memory_bytes
