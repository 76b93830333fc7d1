from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _worker(run_worker: None) -> None:
    """Invoked deployments' runs are executed (a worker on the services backend)."""
