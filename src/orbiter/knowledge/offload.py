"""Extraction and splitting run in a process of their own.

Both hold Python's global lock while they work (pypdf is Python; semantic-text-splitter's Rust
code does not release it), so in the server's process each page stalled every request and job
for milliseconds. One helper process per Orbiter process (started on first use, from a
`forkserver`, so it is not a copy of the server) runs them on another core. If that process
dies (killed, out of memory) the pool is replaced and the call runs once in a thread instead.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import threading
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

T = TypeVar("T")
_pool: ProcessPoolExecutor | None = None
_lock = threading.Lock()


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload([])  # not the server's __main__: only what it runs
            _pool = ProcessPoolExecutor(max_workers=1, mp_context=context)
        return _pool


def _replace(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def warm() -> None:
    """Start the helper process now (it takes a few hundred ms), not at the first document."""
    _executor().submit(int)


async def offloaded(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in the helper process (`function` and its arguments picklable)."""
    pool = _executor()
    try:
        return await asyncio.get_running_loop().run_in_executor(pool, function, *args)
    except BrokenProcessPool:
        _replace(pool)
        return await asyncio.to_thread(function, *args)
