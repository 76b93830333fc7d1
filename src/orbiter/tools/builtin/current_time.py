"""`current_time`: the date and time now in an IANA time zone (zoneinfo; tzdata supplies the
zone database where the system has none)."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from orbiter.core.time import utcnow
from orbiter.tools.base import RunnableTool, ToolContext, ToolFailed


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ToolFailed(
            f"Unknown time zone {name!r}; use an IANA name such as 'Europe/Paris' or 'UTC'"
        ) from exc


def describe(now: datetime, name: str) -> dict[str, Any]:
    local = now.astimezone(zone(name))
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return {
        "timezone": name,
        "iso": local.isoformat(),
        "date": local.date().isoformat(),
        "time": local.strftime("%H:%M:%S"),
        "weekday": local.strftime("%A"),
        "utc_offset": f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}",
        "unix": int(now.timestamp()),
    }


async def run(_: ToolContext, arguments: dict[str, Any]) -> dict[str, Any]:
    return describe(utcnow(), str(arguments.get("timezone") or "UTC"))


CURRENT_TIME = RunnableTool(
    id="current_time",
    name="current_time",
    description="The current date and time in a time zone (IANA name, default UTC).",
    input_schema={
        "type": "object",
        "properties": {
            "timezone": {
                "type": "string",
                "maxLength": 64,
                "description": "An IANA time zone such as 'Europe/Paris'; default UTC",
            }
        },
        "additionalProperties": False,
    },
    run=run,
    timeout_seconds=5.0,
    builtin=True,
)
