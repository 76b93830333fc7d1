"""Standard Webhooks signing (https://www.standardwebhooks.com): a per-rule `whsec_` secret,
and the three headers a delivery carries.

`webhook-signature` is `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`
keyed by the bytes the secret's base64 part decodes to. The secret is stored encrypted
(AES-GCM, `orbiter.core.crypto`) and bound to the rule's id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import uuid

from orbiter.core.crypto import SecretBox

SECRET_PREFIX = "whsec_"  # noqa: S105 - the spec's public prefix, not a secret
SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def secret_context(rule_id: uuid.UUID) -> str:
    return f"alert-rule:{rule_id}"


def seal(box: SecretBox, rule_id: uuid.UUID, secret: str) -> str:
    return box.encrypt(secret, context=secret_context(rule_id))


def unseal(box: SecretBox, rule_id: uuid.UUID, sealed: str) -> str:
    return box.decrypt(sealed, context=secret_context(rule_id))


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX))
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature(secret, message_id, timestamp, body),
    }
