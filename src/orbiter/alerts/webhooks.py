"""The webhook action: one signed POST of the event (Standard Webhooks headers, signing.py)
through the outbound guard, which checks the URL's addresses again on every connection (no
redirects followed, no environment proxies). A 2xx answer is a success; anything else, a
refused address, a connection error or a timeout is a failed attempt."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2

from orbiter.alerts import signing
from orbiter.alerts.outcome import Outcome, elapsed_ms, failed
from orbiter.core.errors import AppError
from orbiter.core.outbound import guarded_client
from orbiter.core.settings import Settings


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


async def post_webhook(
    settings: Settings, *, url: str, secret: str, message_id: str, payload: dict[str, Any]
) -> Outcome:
    body = body_of(payload)
    headers = signing.headers(secret, message_id, int(time.time()), body)
    timeout = settings.alert_delivery_timeout_seconds
    started = time.monotonic()
    try:
        async with guarded_client(settings, timeout=httpx2.Timeout(timeout)) as client:
            response = await client.post(url, content=body, headers=headers)
    except AppError as exc:  # the guard refused the address
        return failed(started, exc.message)
    except httpx2.TimeoutException:
        return failed(started, f"No answer within {timeout:g} s")
    except httpx2.HTTPError as exc:
        return failed(started, f"{type(exc).__name__}: {exc}")
    if 200 <= response.status_code < 300:
        return Outcome(True, elapsed_ms(started), response.status_code)
    return failed(started, f"The receiver answered {response.status_code}", response.status_code)
