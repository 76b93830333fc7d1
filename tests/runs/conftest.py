"""Fixtures for run tests: the scripted test executor, and a consumer of the job queue.

Embedded, the app's own process runs the jobs (its lifespan started `Background`). On the
services backend the API process only sends jobs to Redis: `worker` consumes them in this
process for the test, as `orbiter worker` would (tests/runs/test_workers.py uses real
`orbiter worker` processes instead).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator

import pytest

from orbiter.runs import engine
from orbiter.runs.executors import load_executors
from tests.helpers import SignedIn
from tests.runs.scripted import KIND, scripted


@pytest.fixture(autouse=True)
def scripted_executor() -> Iterator[None]:
    # The shipped executors first: importing them later (a worker starting) would replace
    # the scripted one.
    load_executors()
    before = engine.executor_for(KIND)
    engine.register_executor(KIND, scripted)
    yield
    if before is not None:
        engine.register_executor(KIND, before)


@pytest.fixture
def worker(run_worker: None) -> None:
    """The shared consumer of tests/workers.py, by the name these tests use."""


@pytest.fixture
async def owner(signed_in: Callable[[], Awaitable[SignedIn]]) -> SignedIn:
    return await signed_in()
