"""The outbound guard (`orbiter.core.outbound`) for SDKs built on `httpx` (GitHub's githubkit,
most cloud SDKs): the core guard plugs into `httpx2`, so this is the same check at connect
time for an `httpx` transport. Each new connection resolves the host once, refuses it unless
every address is public (or `ORBITER_ALLOW_PRIVATE_URLS`), and connects to the checked
address; redirects and environment proxies are left to the client (the callers turn both off).
"""

from __future__ import annotations

from collections.abc import Awaitable, Iterable
from typing import Any

import httpcore
import httpx

from orbiter.core.outbound import OutboundRefused, connect_checked
from orbiter.core.settings import Settings


class _GuardedBackend(httpcore.AsyncNetworkBackend):
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        def connect(address: str) -> Awaitable[httpcore.AsyncNetworkStream]:
            return self._inner.connect_tcp(address, port, timeout, local_address, socket_options)

        errors = (httpcore.ConnectError, httpcore.ConnectTimeout)
        return await connect_checked(host, port, self._settings, timeout, connect, errors)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise OutboundRefused("Refused to connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedHttpxTransport(httpx.AsyncHTTPTransport):
    """`httpx`'s transport with its pool connecting through the guard."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(trust_env=False)
        # httpx has no public hook for the network backend: the pool it built is replaced by
        # an identical one that connects through the guard (as `core.outbound` does for httpx2).
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=20,
            max_keepalive_connections=5,
            network_backend=_GuardedBackend(settings),
        )
