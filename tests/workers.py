"""A worker for the tests that start runs: on the services backend (Redis job stream) the API
does not run jobs itself, so a `Background` (what `orbiter worker` runs) consumes them in the
test process. Embedded, the app already runs them. (tests/runs names it `worker`.)"""

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
    background = Background(resources)
    await background.start()
    try:
        yield
    finally:
        await background.stop()
