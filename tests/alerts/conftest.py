"""Fixtures for the alert tests: failing runs played by the scripted executor (tests/runs)
through the real engine, a quiet evaluation ticker (the tests evaluate with their own clock),
a loopback webhook receiver and a loopback SMTP server."""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Iterator

import pytest

from orbiter.alerts.jobs import EVALUATE
from orbiter.runtime.resources import Resources
from tests.alerts.receivers import Mailbox, Receiver, mailbox, receiver
from tests.runs.conftest import scripted_executor  # noqa: F401  autouse: runs play scripts


@pytest.fixture(autouse=True)
async def quiet_ticker(resources: Resources) -> None:
    """The app's own ticker (and `run_worker`'s) leaves the rules alone during the test; the
    tests call the evaluation themselves, with the clock they choose."""
    await quiet(resources)


async def quiet(resources: Resources) -> None:
    """Claim the next ticks of `alerts.evaluate` in the queue of `resources`, as another
    worker would claim them (queue/periodic.py names them `tick:<job>:<slot>`)."""
    every = resources.settings.alert_evaluate_seconds
    now = math.floor(time.time() / every)
    for slot in range(now, now + 3):
        await resources.queue.claim_once(f"tick:{EVALUATE}:{slot}", math.ceil(every * 4))


@pytest.fixture
async def hook() -> AsyncIterator[Receiver]:
    async with receiver() as running:
        yield running


@pytest.fixture
def smtp() -> Iterator[Mailbox]:
    with mailbox() as box:
        yield box
