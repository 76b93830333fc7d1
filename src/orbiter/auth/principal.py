"""Who is calling: resolved once per request from a cookie, an API key or a bearer token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

AuthMethod = Literal["session", "api_key", "bearer"]

API_KEY_SCOPES = ("read", "write", "secrets:read")
DEFAULT_API_KEY_SCOPES = ("read", "write")


@dataclass(frozen=True)
class Principal:
    user_id: uuid.UUID
    email: str
    plan: str
    method: AuthMethod
    credential_id: uuid.UUID  # browser session, API key or token id
    scopes: frozenset[str] = frozenset(API_KEY_SCOPES)
    csrf_token: str | None = None

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


@dataclass(frozen=True)
class AuthFailure:
    """Credentials were sent but are not valid; routes that need a user answer 401 with this."""

    message: str
