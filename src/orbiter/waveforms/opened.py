"""Parsed waveform files kept open for signal queries, by content hash (least recently used
first out). Each is a local copy of the stored bytes in its own temporary directory (FST and
GHW values are read from the file as signals are loaded) and has a lock: wellen loads a
signal's values into the parsed file on first use, so one query runs on it at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from orbiter.storage import BlobStore
from orbiter.waveforms import parse

T = TypeVar("T")


class Closed(Exception):
    """The parsed copy was closed (pushed out of the cache) before the query got to it."""


@dataclass
class Opened:
    directory: Path
    waveform: Any  # pywellen.Waveform
    lock: threading.Lock = field(default_factory=threading.Lock)
    closed: bool = False

    def run(self, work: Callable[[Any], T]) -> T:
        """`work(waveform)` under the lock (blocking: call from a worker thread)."""
        with self.lock:
            if self.closed:
                raise Closed
            return work(self.waveform)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.waveform = None
            shutil.rmtree(self.directory, ignore_errors=True)


class OpenedFiles:
    def __init__(self) -> None:
        self._files: OrderedDict[str, Opened] = OrderedDict()

    async def query(
        self, store: BlobStore, key: str, *, capacity: int, work: Callable[[Any], T]
    ) -> T:
        """`work(waveform)` in a worker thread on the file stored under `key`."""
        self._trim(max(capacity, 0))  # the setting may have shrunk since files were kept
        opened = self._files.get(key)
        if opened is not None:
            self._files.move_to_end(key)
            try:
                return await asyncio.to_thread(opened.run, work)
            except Closed:  # pushed out meanwhile by another query: read it again
                pass
        opened = await _open(store, key)
        if capacity > 0:
            opened = self._keep(key, opened, capacity)
            with contextlib.suppress(Closed):
                return await asyncio.to_thread(opened.run, work)
            opened = await _open(store, key)  # pushed out at once by a concurrent query
        try:
            return await asyncio.to_thread(opened.run, work)
        finally:
            await asyncio.to_thread(opened.close)

    def _trim(self, capacity: int) -> None:
        while len(self._files) > capacity:
            _, evicted = self._files.popitem(last=False)
            threading.Thread(target=evicted.close, daemon=True).start()

    def _keep(self, key: str, opened: Opened, capacity: int) -> Opened:
        if key in self._files:  # opened meanwhile by a concurrent query: use that one
            threading.Thread(target=opened.close, daemon=True).start()
            return self._files[key]
        self._files[key] = opened
        self._trim(capacity)
        return opened

    def adopt(self, key: str, directory: Path, waveform: Any, *, capacity: int) -> bool:
        """Keep a file parsed elsewhere (at upload); False when there is no room for it."""
        if capacity <= 0 or key in self._files:
            return False
        self._keep(key, Opened(directory, waveform), capacity)
        return True

    def forget(self, key: str) -> None:
        """Drop the parsed copy (its bytes were deleted)."""
        evicted = self._files.pop(key, None)
        if evicted is not None:
            threading.Thread(target=evicted.close, daemon=True).start()


async def _open(store: BlobStore, key: str) -> Opened:
    directory = Path(tempfile.mkdtemp(prefix="orbiter-waveform-"))
    try:
        path = directory / "waveform"
        stream = await store.open_stream(key)
        with path.open("wb") as out:
            async for chunk in stream:
                await asyncio.to_thread(out.write, chunk)
        waveform = await asyncio.to_thread(parse.open_waveform, path)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return Opened(directory, waveform)


OPENED = OpenedFiles()  # one per process
