"""`http_request`: one HTTP request to a public URL (see `tools/http_fetch.py` for the guard and
the limits)."""

from __future__ import annotations

from typing import Any

from orbiter.tools.base import RunnableTool, ToolContext
from orbiter.tools.http_fetch import (
    DEFAULT_TIMEOUT_SECONDS,
    MAX_RESPONSE_BYTES,
    MAX_TIMEOUT_SECONDS,
    METHODS,
    fetch,
)


async def run(context: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    return await fetch(
        context.resources.settings,
        method=str(arguments.get("method") or "GET"),
        url=str(arguments["url"]),
        headers=arguments.get("headers"),
        body=arguments.get("body"),
        seconds=float(arguments.get("timeout_seconds") or DEFAULT_TIMEOUT_SECONDS),
    )


HTTP_REQUEST = RunnableTool(
    id="http_request",
    name="http_request",
    description=(
        "Send an HTTP request to a public http(s) URL and get the status, main headers and body "
        f"(at most {MAX_RESPONSE_BYTES // 1024} KiB; JSON bodies also parsed). Redirects are "
        "not followed."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "url": {"type": "string", "minLength": 1, "maxLength": 4000},
            "method": {"type": "string", "enum": list(METHODS), "default": "GET"},
            "headers": {
                "type": "object",
                "additionalProperties": {"type": "string", "maxLength": 8000},
                "maxProperties": 50,
            },
            "body": {
                "description": "A string is sent as is; any other JSON value as JSON",
            },
            "timeout_seconds": {"type": "number", "minimum": 1, "maximum": MAX_TIMEOUT_SECONDS},
        },
        "required": ["url"],
        "additionalProperties": False,
    },
    run=run,
    timeout_seconds=MAX_TIMEOUT_SECONDS + 5,
    builtin=True,
)
