"""These tests poll the list while the analysis runs: more requests than the free plan allows
per minute; rate limits have tests of their own."""

from __future__ import annotations

import pytest

from orbiter.runtime.resources import Resources


@pytest.fixture(autouse=True)
def _roomy_rate_limit(resources: Resources, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources.settings, "rate_limit_free", 10_000)


@pytest.fixture(autouse=True)
def _worker(run_worker: None) -> None:
    """The analysis (and runs) are jobs: on the services backend a worker consumes them."""
