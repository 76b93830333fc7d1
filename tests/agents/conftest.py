from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _worker(run_worker: None) -> None:
    """Runs started by these tests are executed (a worker on the services backend)."""
