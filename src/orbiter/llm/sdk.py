"""What both SDK-based adapters share: the timeout, the model-list cap, closing a failed stream."""

from __future__ import annotations

import contextlib
from typing import Any

import httpx2

from orbiter.core.settings import Settings

MAX_MODELS = 1000
NO_KEY = "no-key"  # never let an SDK fall back to the server's own API key variables


def llm_timeout(settings: Settings) -> httpx2.Timeout:
    return httpx2.Timeout(
        settings.llm_timeout_seconds, connect=settings.llm_connect_timeout_seconds
    )


async def quietly_close(stream: Any) -> None:
    with contextlib.suppress(Exception):  # the stream already failed; closing is best effort
        await stream.close()
