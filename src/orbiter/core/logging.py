"""Logging through structlog: one pipeline for Orbiter's events and for libraries' stdlib logs.

`ORBITER_LOG_FORMAT=json` writes one JSON object per line (`time`, `level`, `event`, `logger`,
the request's `request_id` while one is being served, and the event's own fields); `text`
writes one readable line per event. The default is text in development and json otherwise.
Every line is redacted on its way out: secret query parameters (`?token=`, `code=`, ...) and
anything shaped like an Orbiter credential (`orb_...`, `orbt_...`, webhook tokens `orbw_...`)
become `[REDACTED]`.
Request headers are never logged at all.
"""

from __future__ import annotations

import logging
import re
import sys
from contextvars import ContextVar
from typing import Any

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from orbiter.core.settings import Settings

ACCESS_LOGGER = "orbiter.access"  # one line per request (core.middleware)
# The request being served, for code that logs it by hand; structlog adds it to every line.
request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
REDACTED = "[REDACTED]"
SECRET_QUERY_PARAMS = (
    "token",
    "access_token",
    "refresh_token",
    "id_token",
    "code",
    "device_code",
    "user_code",
    "client_secret",
    "api_key",
    "password",
    "secret",
    "signature",
    "x-amz-signature",
    "x-amz-credential",
    "x-amz-security-token",
)
_SECRET_QUERY = re.compile(
    r"(?i)([?&](?:" + "|".join(re.escape(name) for name in SECRET_QUERY_PARAMS) + r")=)[^&#\s\"']*"
)
_CREDENTIAL = re.compile(r"\b(orb[tw]?_)[A-Za-z0-9_\-]+")
_HANDLER_NAME = "orbiter"
_LEADING = ("time", "level", "event", "logger")
# Libraries whose INFO lines repeat what the access log says, or say nothing an operator needs.
_QUIETER = {
    "uvicorn.access": logging.WARNING,
    "httpx": logging.WARNING,
    "alembic.runtime.migration": logging.WARNING,  # two lines for every schema check
}


def redact(text: str) -> str:
    """`text` with secret query values and Orbiter credentials replaced by [REDACTED]."""
    # Each pattern needs a literal that most strings (times, ids, names, levels) lack, and
    # testing for it costs a fraction of running the pattern.
    if "=" in text:
        text = _SECRET_QUERY.sub(r"\1" + REDACTED, text)
    if "orb_" in text or "orbt_" in text or "orbw_" in text:
        text = _CREDENTIAL.sub(r"\1" + REDACTED, text)
    return text


def _redact_strings(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    """What both our events and foreign (stdlib) records go through before rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
    ]


def _leading_keys_first(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """time, level, event, logger first: a JSON line reads like a log line."""
    leading = {key: event_dict.pop(key) for key in _LEADING if key in event_dict}
    return {**leading, **event_dict}


def _renderer(log_format: str) -> Processor:
    if log_format == "json":
        return structlog.processors.JSONRenderer()
    return structlog.dev.ConsoleRenderer(
        colors=sys.stderr.isatty(), sort_keys=False, timestamp_key="time"
    )


class _CurrentStderr:
    """Whatever sys.stderr is at the time of writing (test capture replaces it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(settings: Settings) -> None:
    """Route structlog and stdlib logging to one stderr handler in the configured format.

    Idempotent: calling it again (each app a test creates) replaces our handler only, so
    handlers others attached to the root logger (pytest's capture) stay.
    """
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            _redact_strings,
            _leading_keys_first,
            _renderer(settings.effective_log_format),
        ],
    )
    handler = logging.StreamHandler(_CurrentStderr())
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(settings.log_level.upper())
    _route_uvicorn_through_root()
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,  # tests configure again for each app
    )


def _route_uvicorn_through_root() -> None:
    """Uvicorn may have installed handlers of its own (`uvicorn orbiter.main:app`): drop them
    so its lines are formatted and redacted like ours; its access log is ours instead."""
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name, level in _QUIETER.items():
        logging.getLogger(name).setLevel(level)


def get_logger(name: str) -> Any:
    """A structlog logger writing through the stdlib logger `name`."""
    return structlog.stdlib.get_logger(name)
