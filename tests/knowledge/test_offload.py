"""Extraction and splitting run in a helper process of their own; when it is killed, the
next document is still indexed (the pool is replaced, that call runs in a thread) and the
one after uses a new helper process."""

from __future__ import annotations

import os
import signal

import pytest
from httpx import AsyncClient

from orbiter.knowledge import offload
from tests.knowledge.util import indexed, make_kb, query

pytestmark = pytest.mark.usefixtures("run_worker")


def _helper_pids() -> set[int]:
    pool = offload._pool
    processes = getattr(pool, "_processes", None) or {}
    return set(processes)


async def test_a_killed_helper_process_loses_no_document(browser: AsyncClient) -> None:
    kb = (await make_kb(browser))["id"]
    await indexed(browser, kb, "one.txt", b"The first document mentions aardvarks.")
    pids = _helper_pids()
    assert pids and os.getpid() not in pids  # it ran in another process
    for pid in pids:
        os.kill(pid, signal.SIGKILL)

    await indexed(browser, kb, "two.txt", b"The second document mentions badgers.")
    await indexed(browser, kb, "three.txt", b"The third document mentions capybaras.")
    assert _helper_pids() and not _helper_pids() & pids  # a new helper process
    found = await query(browser, kb, "badgers")
    assert [r["document_name"] for r in found["results"]] == ["two.txt"]
