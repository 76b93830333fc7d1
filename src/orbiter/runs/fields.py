"""Inputs and outputs stored with a run or a span: bounded, never dropped.

A value whose JSON is larger than `ORBITER_RUN_MAX_FIELD_BYTES` is stored as
`{"truncated": true, "preview": <the first bytes of its JSON, as text>, "size": <bytes>}`.
Values that are not JSON (a datetime, an object) are stored as their `str()`.
"""

from __future__ import annotations

import json
from typing import Any

MARKER = "truncated"


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def bounded(value: Any, limit: int) -> Any:
    """`value` as stored: itself (JSON-safe) when small enough, else the truncation marker."""
    if value is None:
        return None
    text = to_json(value)
    size = len(text.encode())
    if size <= limit:
        return json.loads(text)
    preview = text.encode()[: max(0, limit - 100)].decode(errors="ignore")
    return {MARKER: True, "preview": preview, "size": size}
