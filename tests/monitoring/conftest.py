"""Runs for the monitoring tests are played by the scripted test executor (tests/runs), for
agents and workflows too, through the real engine: spans, usage and the rollup as in use."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from orbiter.runs import engine
from orbiter.runs.executors import load_executors
from tests.core.test_metrics import metered  # noqa: F401  the app with /metrics on
from tests.runs.scripted import KIND, scripted

KINDS = (KIND, "agent", "workflow")


@pytest.fixture(autouse=True)
def scripted_executor() -> Iterator[None]:
    load_executors()  # the shipped ones first, or a worker starting later would replace ours
    before = {kind: engine.executor_for(kind) for kind in KINDS}
    for kind in KINDS:
        engine.register_executor(kind, scripted)
    yield
    for kind, executor in before.items():
        if executor is not None:
            engine.register_executor(kind, executor)
