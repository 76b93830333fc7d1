"""A custom tool's secret header values at rest: one JSON object sealed with AES-GCM, bound to
the tool's id (a ciphertext copied to another tool does not open). `orbiter rotate-keys`
re-seals them like every other secret."""

from __future__ import annotations

import json
import uuid

from cryptography.exceptions import InvalidTag

from orbiter.core.crypto import SecretBox
from orbiter.core.errors import ServiceUnavailable
from orbiter.models import Tool

MASK = "••••"
MIN_LENGTH_FOR_LAST4 = 12  # a shorter value would be mostly revealed by its last 4


def secrets_context(tool_id: uuid.UUID) -> str:
    return f"tools:{tool_id}:headers"


def seal(box: SecretBox, tool_id: uuid.UUID, values: dict[str, str]) -> str | None:
    if not values:
        return None
    return box.encrypt(json.dumps(values), context=secrets_context(tool_id))


def unseal(box: SecretBox, tool: Tool) -> dict[str, str]:
    if not tool.secrets_encrypted:
        return {}
    try:
        values: dict[str, str] = json.loads(
            box.decrypt(tool.secrets_encrypted, context=secrets_context(tool.id))
        )
    except InvalidTag as exc:
        raise ServiceUnavailable(
            f"The stored secret headers of tool {tool.name!r} cannot be decrypted; set them "
            "again with PUT /api/v1/tools/{id}"
        ) from exc
    return values


def last4(value: str) -> str | None:
    return value[-4:] if len(value) >= MIN_LENGTH_FOR_LAST4 else None


def masked(last: str | None) -> str:
    return MASK + (last or "")
