"""The `github` provider: a personal access token (or a GitHub App user token), checked against
the GitHub API. It provisions nothing; the GitHub routes (`orbiter.github`) and coding tasks
(pushing branches) use the token.

The API base URL: the credential's `api_url`, else `https://<host>/api/v3` for a `host` other
than github.com (GitHub Enterprise Server), else `ORBITER_GITHUB_API_URL`. Every request goes
through the outbound guard, without redirects, retries or a response cache.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import httpx
from githubkit import GitHub, TokenAuthStrategy
from githubkit.exception import GitHubException, RateLimitExceeded, RequestError, RequestFailed

from orbiter.core.errors import NotFound, RateLimited, UpstreamError, ValidationFailed
from orbiter.core.outbound import OutboundRefused, check_url
from orbiter.core.settings import Settings
from orbiter.infrastructure.providers.base import (
    CannotProvision,
    InvalidCredential,
    Provisioned,
    ProvisionRequest,
    ResourceType,
    StoredResource,
)
from orbiter.infrastructure.providers.http import GuardedHttpxTransport

PUBLIC_HOSTS = frozenset({"github.com", "api.github.com", "www.github.com"})
TIMEOUT = httpx.Timeout(15.0, connect=5.0)
T = TypeVar("T")


class TokenRefused(UpstreamError):
    """GitHub answered 401 to the token."""


def api_base(metadata: dict[str, Any], settings: Settings) -> str:
    if metadata.get("api_url"):
        return str(metadata["api_url"]).rstrip("/")
    host = str(metadata.get("host") or "").strip().lower()
    if host and host not in PUBLIC_HOSTS:
        return f"https://{host}/api/v3"
    return settings.github_api_url.rstrip("/")


def web_host(metadata: dict[str, Any]) -> str:
    """The host git clones and pushes to for this credential (github.com by default)."""
    return str(metadata.get("host") or "github.com").strip().lower()


def client(token: str, base_url: str, settings: Settings) -> GitHub[TokenAuthStrategy]:
    return GitHub(
        TokenAuthStrategy(token),
        base_url=base_url,
        user_agent="orbiter",
        timeout=TIMEOUT,
        follow_redirects=False,
        trust_env=False,
        async_transport=GuardedHttpxTransport(settings),
        http_cache=False,
        auto_retry=False,
    )


async def call_github(request: Callable[[], Awaitable[T]], *, base_url: str, refused: str) -> T:
    """Run one githubkit call; GitHub's answers become domain errors. `refused` is the message
    for a 401 (it says whose token it was and how to replace it)."""
    try:
        return await request()
    except RateLimitExceeded as exc:
        wait = max(1, int(exc.retry_after.total_seconds()))
        raise RateLimited(
            f"GitHub's rate limit for this token is used up; try again in {wait} s",
            headers={"Retry-After": str(wait)},
            details={"retry_after": wait},
        ) from exc
    except RequestFailed as exc:
        raise _failed(exc.response.status_code, _message(exc), refused) from exc
    except RequestError as exc:
        if isinstance(exc.exc, OutboundRefused):
            raise exc.exc from exc
        raise UpstreamError(f"GitHub could not be reached at {base_url}: {exc.exc}") from exc
    except GitHubException as exc:
        raise UpstreamError(f"GitHub request failed: {exc!r}") from exc


def _message(exc: RequestFailed) -> str:
    try:
        body = exc.response.json()
    except ValueError:
        return exc.response.text[:200]
    return str(body.get("message", "")) if isinstance(body, dict) else ""


def _failed(status: int, message: str, refused: str) -> Exception:
    said = f" (GitHub said: {message})" if message else ""
    if status == 401:
        return TokenRefused(refused + said, details={"github_status": 401})
    if status == 404:
        return NotFound(f"Not found on GitHub{said}")
    return UpstreamError(f"GitHub answered {status}{said}", details={"github_status": status})


HOST_RE = re.compile(r"^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$")


async def _check_metadata(metadata: dict[str, Any], settings: Settings) -> None:
    unknown = set(metadata) - {"host", "api_url"}
    if unknown:
        raise ValidationFailed.for_field(
            "metadata", f"Unknown for github: {', '.join(sorted(unknown))} (known: host, api_url)"
        )
    host = metadata.get("host")
    if host is not None and not (isinstance(host, str) and HOST_RE.match(host.lower())):
        raise ValidationFailed.for_field("metadata.host", "Must be a host name, e.g. github.com")
    api_url = metadata.get("api_url")
    if api_url is not None:
        if not isinstance(api_url, str):
            raise ValidationFailed.for_field("metadata.api_url", "Must be a URL")
        await check_url(api_url, settings, field="metadata.api_url")


class GitHubProvider:
    name = "github"
    needs_token = True

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    def supports(self, resource_type: ResourceType) -> bool:
        return False

    async def validate(self, token: str, metadata: dict[str, Any]) -> dict[str, Any]:
        await _check_metadata(metadata, self._settings)
        base = api_base(metadata, self._settings)
        async with client(token, base, self._settings) as gh:
            try:
                response = await call_github(
                    gh.rest.users.async_get_authenticated,
                    base_url=base,
                    refused="GitHub refused this token",
                )
            except TokenRefused as exc:
                raise InvalidCredential(exc.message) from exc
        user = response.json()
        return {"login": user.get("login"), "name": user.get("name"), "api_url": base}

    async def provision(self, request: ProvisionRequest) -> Provisioned:
        raise CannotProvision(
            "The github provider holds a token for GitHub; it provisions no resources",
            provider=self.name,
            resource_type=request.resource_type,
        )

    async def destroy(self, resource: StoredResource) -> None:
        return None
