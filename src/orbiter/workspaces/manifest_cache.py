"""Parsed manifests, read once: a manifest's content never changes under its hash, so a small
in-process LRU (bounded by the number of file entries held) saves re-reading and re-parsing
the same large manifests for every drift compare or snapshot diff."""

from __future__ import annotations

import asyncio
from collections import OrderedDict

from orbiter.blobs.manifest import EMPTY_MANIFEST, Manifest, manifest_key, parse_manifest
from orbiter.storage import BlobNotFound, BlobStore

MAX_CACHED_ENTRIES = 400_000  # file entries over all cached manifests
PARSE_IN_THREAD_BYTES = 256 * 1024  # larger manifests are parsed off the event loop


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

    def clear(self) -> None:
        self._items.clear()
        self._entries = 0


_cache = ManifestCache()


async def load_manifest(store: BlobStore, hash_: str | None) -> Manifest:
    """The parsed manifest stored under `hash_` (the empty manifest for None).

    The caller has already checked that the manifest is visible to the user.
    """
    if hash_ is None:
        return EMPTY_MANIFEST
    cached = _cache.get(hash_)
    if cached is not None:
        return cached
    try:
        stream = await store.open_stream(manifest_key(hash_))
    except BlobNotFound as exc:
        raise BlobNotFound("Manifest not found in the blob store") from exc
    raw = b"".join([chunk async for chunk in stream])
    if len(raw) > PARSE_IN_THREAD_BYTES:
        manifest = await asyncio.to_thread(parse_manifest, raw)
    else:
        manifest = parse_manifest(raw)
    _cache.put(hash_, manifest)
    return manifest
