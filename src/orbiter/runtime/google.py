"""Verify Google ID tokens against Google's published keys (the key-set URL is a setting)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from orbiter.core.errors import ServiceUnavailable, Unauthorized, UpstreamError

ISSUERS = ("accounts.google.com", "https://accounts.google.com")
DEFAULT_KEYS_TTL = 3600
MIN_REFETCH_SECONDS = 30


@dataclass(frozen=True)
class GoogleIdentity:
    sub: str
    email: str | None
    email_verified: bool
    name: str | None
    picture: str | None


class GoogleVerifier:
    def __init__(self, client_id: str, jwks_url: str) -> None:
        self._client_id = client_id
        self._jwks_url = jwks_url
        self._keys: dict[str, jwt.PyJWK] = {}
        self._expires_at = 0.0
        self._fetched_at = 0.0

    async def verify(self, credential: str) -> GoogleIdentity:
        if not self._client_id:
            raise ServiceUnavailable(
                "Google sign-in is not configured: set ORBITER_GOOGLE_CLIENT_ID"
            )
        try:
            kid = jwt.get_unverified_header(credential).get("kid")
        except jwt.PyJWTError as exc:
            raise Unauthorized("Invalid Google credential") from exc
        key = await self._key(str(kid))
        try:
            claims: dict[str, Any] = jwt.decode(
                credential,
                key=key.key,
                algorithms=["RS256"],
                audience=self._client_id,
                issuer=ISSUERS,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"Invalid Google credential: {exc}") from exc
        return GoogleIdentity(
            sub=str(claims["sub"]),
            email=claims.get("email"),
            email_verified=claims.get("email_verified") in (True, "true"),
            name=claims.get("name"),
            picture=claims.get("picture"),
        )

    async def _key(self, kid: str) -> jwt.PyJWK:
        now = time.monotonic()
        stale = now >= self._expires_at
        unknown = kid not in self._keys and now - self._fetched_at >= MIN_REFETCH_SECONDS
        if stale or unknown:
            await self._refresh()
        if kid not in self._keys:
            raise Unauthorized("Invalid Google credential: unknown signing key")
        return self._keys[kid]

    async def _refresh(self) -> None:
        try:
            async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:
                response = await client.get(self._jwks_url)
                response.raise_for_status()
            key_set = jwt.PyJWKSet.from_dict(response.json())
        except (httpx.HTTPError, ValueError, jwt.PyJWTError) as exc:
            raise UpstreamError(f"Could not fetch Google's signing keys: {exc}") from exc
        self._keys = {k.key_id: k for k in key_set.keys if k.key_id}
        now = time.monotonic()
        self._fetched_at = now
        self._expires_at = now + _max_age(response.headers.get("cache-control", ""))


def _max_age(cache_control: str) -> int:
    match = re.search(r"max-age=(\d+)", cache_control)
    return int(match.group(1)) if match else DEFAULT_KEYS_TTL
