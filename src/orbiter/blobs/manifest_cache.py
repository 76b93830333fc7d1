"""Parsed manifests, read once: a manifest's content never changes under its hash, so a small
in-process LRU (bounded by the number of file entries held) saves re-reading and re-parsing
the same large manifests for every drift compare, snapshot diff or docs listing."""

from __future__ import annotations

from collections import OrderedDict

from orbiter.blobs.manifest import Manifest

MAX_CACHED_ENTRIES = 400_000  # file entries over all cached manifests


class ManifestCache:
    def __init__(self, max_entries: int = MAX_CACHED_ENTRIES) -> None:
        self._max_entries = max_entries
        self._entries = 0
        self._items: OrderedDict[str, Manifest] = OrderedDict()

    def get(self, hash_: str) -> Manifest | None:
        manifest = self._items.get(hash_)
        if manifest is not None:
            self._items.move_to_end(hash_)
        return manifest

    def put(self, hash_: str, manifest: Manifest) -> None:
        size = len(manifest.files)
        if size > self._max_entries or hash_ in self._items:
            return
        self._items[hash_] = manifest
        self._entries += size
        while self._entries > self._max_entries:
            _, evicted = self._items.popitem(last=False)
            self._entries -= len(evicted.files)
