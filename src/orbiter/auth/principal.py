"""Who is calling: resolved once per request from a cookie, an API key or a bearer token."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Literal

from orbiter.core.errors import Forbidden

AuthMethod = Literal["session", "api_key", "bearer"]

SECRETS_READ = "secrets:read"
API_KEY_SCOPES = ("read", "write", SECRETS_READ)
DEFAULT_API_KEY_SCOPES = ("read", "write")
# Deployment keys (`orbiter.deployments`) travel in X-API-Key too, but are no user's
# credential: only their deployment's invoke route accepts one (`OWN_CREDENTIAL_ROUTES`).
DEPLOYMENT_KEY_PREFIX = "odk_"


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

    def require_secret_scope(self, scope: str = SECRETS_READ) -> None:
        """Secret scopes exist only on API keys; cookies and bearer tokens never carry them.

        The one scope check of the services: call it after the caller's membership is known,
        so a stranger gets NotFound rather than learning the resource exists.
        """
        if self.method != "api_key" or not self.has_scope(scope):
            raise Forbidden(f"This needs an API key with the '{scope}' scope")


@dataclass(frozen=True)
class AuthFailure:
    """Credentials were sent but are not valid; routes that need a user answer 401 with this."""

    message: str
