"""A worker for the tests that start runs: on the services backend (Redis job stream) the API
does not run jobs itself, so a `Background` (what `orbiter worker` runs) consumes them in the
test process. Embedded, the app already runs them.

Per test: each test ends by flushing Redis (`_fresh_state`), which takes the job stream's
consumer group with it, so the queue is started again (the group made again) first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from fastapi import FastAPI

from orbiter.worker import Background


@pytest.fixture
async def run_worker(app: FastAPI) -> AsyncIterator[None]:
    resources = app.state.resources
    if resources.queue.in_process:
        yield
        return
    await resources.queue.close()
    await resources.queue.start()
    background = Background(resources)
    await background.start()
    try:
        yield
    finally:
        await background.stop()
