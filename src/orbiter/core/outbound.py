"""The SSRF guard for URLs users configure (LLM provider base URLs, and anything alike).

Policy: an outbound address must be globally routable. Refused, unless the operator sets
`ORBITER_ALLOW_PRIVATE_URLS=true` (for local models such as Ollama): loopback, RFC 1918
private, link-local (169.254.0.0/16, including the 169.254.169.254 metadata service, and
fe80::/10), CGNAT 100.64.0.0/10, unique-local fc00::/7, unspecified, multicast, reserved and
documentation ranges, known cloud metadata addresses, and IPv6 forms embedding such an IPv4
address (IPv4-mapped ::ffff:a.b.c.d, IPv4-compatible, 6to4, Teredo, NAT64).

Where it is enforced:
* `check_url` at create/update time: a clear 422 on the `base_url` field.
* `GuardedNetworkBackend` at connect time, inside the HTTP client the SDKs use: the host name
  is resolved once, every resolved address is checked, and the TCP connection is opened to
  the checked address itself (TLS still verifies the certificate against the host name).
  DNS rebinding (a name that resolves to a public address when checked and to 10.0.0.1 when
  connecting) therefore cannot slip through: there is no second resolution to race with.
  Each new connection is checked, including pooled reconnects and SDK retries.
* Redirects are never followed (`follow_redirects=False`, the SDKs default to True) and
  environment proxies are ignored (`trust_env=False`), so neither can send a request
  somewhere the check did not see.

`resolve_host` is the single resolver; tests replace it with a monkeypatched function to
map `evil.example` to 10.0.0.1 without sending traffic anywhere.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
import ssl
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpcore2
import httpx2

from orbiter.core.errors import UpstreamError, ValidationFailed
from orbiter.core.settings import Settings

_Stream = TypeVar("_Stream")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Cloud metadata services. Most are link-local or private already; listed for clarity and
# for the ones that are not (Azure's wire server is a public address).
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "168.63.129.16",  # Azure wire server
        "100.100.100.200",  # Alibaba Cloud
        "fd00:ec2::254",  # AWS IPv6 metadata
    )
)
METADATA_HOSTNAMES = frozenset({"metadata", "metadata.google.internal", "metadata.goog"})
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
ALLOWED_SCHEMES = ("http", "https")


class OutboundRefused(UpstreamError):
    """A configured URL points somewhere the server may not connect to (502 when used)."""


def forbidden_reason(address: str | IPAddress) -> str | None:
    """Why `address` may not be connected to, or None when it is a public address."""
    ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    if ip in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            inner = forbidden_reason(embedded)
            if inner is not None:
                return f"an IPv6 form of {embedded} ({inner})"
        if ip in NAT64_LOCAL:
            return "a local-use NAT64 address"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "an unspecified address"),
        (ip.is_loopback, "a loopback address"),
        (ip.is_link_local, "a link-local address"),
        (ip.is_multicast, "a multicast address"),
        (ip.is_reserved, "a reserved address"),
        (ip in ipaddress.ip_network("100.64.0.0/10"), "a carrier-grade NAT address"),
        (isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local, "a site-local address"),
        (
            isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"),
            "a unique-local address",
        ),
        (ip.is_private, "a private address"),
        (not ip.is_global, "not a public address"),
    )
    for refused, reason in checks:
        if refused:
            return reason
    return None


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    packed = ip.packed
    if ip in NAT64:
        return ipaddress.IPv4Address(packed[12:])
    if packed[:12] == bytes(12) and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(packed[12:])
    return None


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address `host` resolves to (IP literals resolve to themselves)."""
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    seen: dict[str, None] = {}
    for _family, _type, _proto, _canon, sockaddr in infos:
        seen.setdefault(str(sockaddr[0]).split("%", 1)[0])  # drop an IPv6 zone id
    return list(seen)


def _name_refusal(host: str) -> str | None:
    name = host.lower().rstrip(".")
    if name in METADATA_HOSTNAMES:
        return f"{host} is a cloud metadata host name"
    if name == "localhost" or name.endswith(".localhost"):  # RFC 6761: always loopback
        return f"{host} is a loopback host name"
    return None


def _address_refusal(host: str, addresses: Iterable[str]) -> str | None:
    for address in addresses:
        reason = forbidden_reason(address)
        if reason is not None:
            if host == address:
                return f"{address} is {reason}"
            return f"{host} resolves to {address}, which is {reason}"
    return None


async def check_address(host: str, port: int, settings: Settings) -> list[str]:
    """Resolve `host` and refuse it unless every address is public; returns the addresses."""
    strict = not settings.allow_private_urls
    if strict and (reason := _name_refusal(host)):
        raise OutboundRefused(f"Refused to connect: {reason}")
    try:
        addresses = await resolve_host(host, port)
    except (OSError, UnicodeError) as exc:
        raise UpstreamError(f"Could not resolve {host}: {exc}") from exc
    if not addresses:
        raise UpstreamError(f"Could not resolve {host}")
    if strict and (reason := _address_refusal(host, addresses)):
        raise OutboundRefused(
            f"Refused to connect: {reason}; the server only connects to public addresses"
        )
    return addresses


async def check_url(url: str, settings: Settings, *, field: str = "base_url") -> None:
    """Validate a URL a user configures: 422 on `field` when malformed or not public.

    A host that does not resolve now is accepted (DNS may be down for a moment); it is
    checked again, for real, on every connection.
    """
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise ValidationFailed.for_field(field, f"Not a valid URL: {exc}") from exc
    if parts.scheme not in ALLOWED_SCHEMES or not parts.hostname:
        raise ValidationFailed.for_field(field, "Must be an http:// or https:// URL with a host")
    if parts.username or parts.password:
        raise ValidationFailed.for_field(field, "Must not contain credentials; use api_key")
    if settings.allow_private_urls:
        return  # nothing to refuse, so no DNS lookup for a URL that may never be used
    try:
        await check_address(parts.hostname, port, settings)
    except OutboundRefused as exc:
        raise ValidationFailed.for_field(field, exc.message, "url_refused") from exc
    except UpstreamError:
        return


async def connect_checked(
    host: str,
    port: int,
    settings: Settings,
    timeout: float | None,  # noqa: ASYNC109 - httpcore's, passed on
    connect: Callable[[str], Awaitable[_Stream]],
    errors: tuple[type[Exception], type[Exception]],
) -> _Stream:
    """Resolve and check `host`, then `connect` to each checked address until one answers;
    `errors` are the HTTP core's (ConnectError, ConnectTimeout), so this serves any copy of
    httpcore (httpx2's here, httpx's in infrastructure/providers/http.py)."""
    connect_error, connect_timeout = errors
    try:
        addresses = await asyncio.wait_for(check_address(host, port, settings), timeout=timeout)
    except TimeoutError as exc:
        raise connect_timeout(f"Resolving {host} timed out") from exc
    except OutboundRefused:
        raise
    except UpstreamError as exc:
        raise connect_error(exc.message) from exc
    failure: Exception = connect_error(f"Could not connect to {host}")
    for address in addresses:
        try:
            return await connect(address)
        except (connect_error, connect_timeout) as exc:
            failure = exc
    raise failure


class GuardedNetworkBackend(httpcore2.AsyncNetworkBackend):
    """Resolves, checks, then connects to the checked address (see the module docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._inner = httpcore2.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        def connect(address: str) -> Awaitable[httpcore2.AsyncNetworkStream]:
            return self._inner.connect_tcp(
                address,
                port,
                timeout=timeout,
                local_address=local_address,
                socket_options=socket_options,
            )

        errors = (httpcore2.ConnectError, httpcore2.ConnectTimeout)
        return await connect_checked(host, port, self._settings, timeout, connect, errors)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 - httpcore's interface
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore2.AsyncNetworkStream:
        raise OutboundRefused("Refused to connect to a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle takes milliseconds; do it once per process, not per request.
    return httpx2.create_ssl_context(trust_env=False)


class GuardedTransport(httpx2.AsyncHTTPTransport):
    """httpx2's transport with its connection pool on `GuardedNetworkBackend`."""

    def __init__(self, settings: Settings, *, limits: httpx2.Limits | None = None) -> None:
        limits = limits or httpx2.Limits(max_connections=20, max_keepalive_connections=5)
        super().__init__(verify=_ssl_context(), trust_env=False, limits=limits)
        # httpx2 has no public hook for the network backend; the pool it would build is
        # replaced by an identical one that connects through the guard.
        self._pool = httpcore2.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedNetworkBackend(settings),
        )


def guarded_client(settings: Settings, *, timeout: httpx2.Timeout) -> httpx2.AsyncClient:
    """An HTTP client for user-configured URLs: guarded connects, no redirects, no env proxies."""
    return httpx2.AsyncClient(
        transport=GuardedTransport(settings),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
