"""What one delivery attempt came to (a webhook POST or an email)."""

from __future__ import annotations

import time
from dataclasses import dataclass

MAX_ERROR_CHARS = 500


@dataclass(frozen=True)
class Outcome:
    ok: bool
    duration_ms: int
    response_code: int | None = None
    error: str | None = None


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def failed(started: float, error: str, response_code: int | None = None) -> Outcome:
    return Outcome(False, elapsed_ms(started), response_code, error[:MAX_ERROR_CHARS])
