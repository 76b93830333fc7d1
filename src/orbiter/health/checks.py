"""The dependency checks behind `/health`, start-up and `orbiter check`.

Each check is timed and never raises: it reports `ok` with its latency, or `failed` with the
reason. The database check also requires the schema to be at the newest migration.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from orbiter.core.kv import KeyValueStore
from orbiter.health.schema import check_schema
from orbiter.storage import BlobStore

CHECK_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    latency_ms: float
    error: str | None = None


async def timed(probe: Callable[[], Awaitable[object]]) -> CheckResult:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
        error = None
    except TimeoutError:
        error = f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
    except Exception as exc:  # any failure is a failed check, never an error of the caller
        error = describe(exc)
    latency_ms = round((time.perf_counter() - started) * 1000, 2)
    return CheckResult(ok=error is None, latency_ms=latency_ms, error=error)


def describe(exc: BaseException) -> str:
    """One line naming the failure, with the underlying cause when it says more."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    cause = exc.__cause__
    if cause is not None and str(cause).strip() and str(cause) not in text:
        text = f"{text} ({str(cause).strip().splitlines()[0]})"
    return text


async def run_checks(
    engine: AsyncEngine, kv: KeyValueStore | None, blobs: BlobStore
) -> dict[str, CheckResult]:
    """database, redis (only when `kv` is given: Redis is configured) and blob_store, at once."""
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        "database": lambda: check_schema(engine),
        "blob_store": blobs.check,
    }
    if kv is not None:
        probes["redis"] = kv.ping
    results = await asyncio.gather(*(timed(probe) for probe in probes.values()))
    return dict(zip(probes, results, strict=True))
