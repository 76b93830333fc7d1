"""Turn whatever an SDK or the network raised into `UpstreamError` (502) with the provider's words."""

from __future__ import annotations

import json
import logging
from typing import Any

import anthropic
import httpx2
import openai

from orbiter.core.errors import AppError, UpstreamError

MAX_MESSAGE_CHARS = 500
logger = logging.getLogger("orbiter.llm")


def _body_message(body: Any) -> str | None:
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])
        if isinstance(error, str):
            return error
        if isinstance(body.get("message"), str):
            return str(body["message"])
    return None


def _short(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 1] + "…"


def upstream_error(exc: BaseException, *, label: str) -> AppError:
    """The error to raise for `exc`, which happened while talking to provider `label`."""
    if isinstance(exc, AppError):
        return exc
    status: int | None = None
    if isinstance(
        exc, openai.APITimeoutError | anthropic.APITimeoutError | httpx2.TimeoutException
    ):
        message = f"{label} did not answer in time"
    elif isinstance(exc, openai.APIStatusError | anthropic.APIStatusError):
        status = exc.status_code
        said = _body_message(exc.body) or exc.message
        message = f"{label} answered {status}: {_short(said)}"
    elif isinstance(exc, openai.APIConnectionError | anthropic.APIConnectionError):
        cause = exc.__cause__
        said = f": {_short(str(cause))}" if cause else ""
        if isinstance(cause, httpx2.RemoteProtocolError | httpx2.ReadError):
            message = f"The connection to {label} broke off{said}"
        else:
            message = f"Could not connect to {label}{said}"
    elif isinstance(exc, openai.APIError | anthropic.APIError):
        said = _body_message(exc.body) or exc.message
        message = f"{label} reported an error: {_short(said)}"
    elif isinstance(exc, httpx2.HTTPError):
        message = f"The connection to {label} broke off: {_short(str(exc)) or type(exc).__name__}"
    elif isinstance(exc, json.JSONDecodeError | ValueError | KeyError):
        message = f"{label} sent a malformed response: {_short(str(exc))}"
    else:
        logger.warning("unexpected error talking to %s", label, exc_info=exc)
        message = f"{label} failed: {type(exc).__name__}"
    details: dict[str, Any] = {"provider": label}
    if status is not None:
        details["upstream_status"] = status
    return UpstreamError(message, details=details)


def incomplete_stream(label: str) -> UpstreamError:
    """The provider closed the stream without saying the reply was finished."""
    return UpstreamError(
        f"{label} ended the stream before the reply was complete", details={"provider": label}
    )
