"""Client address, honouring X-Forwarded-For only behind a configured trusted proxy."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

from starlette.types import Scope

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(entries: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def _is_trusted(address: str, networks: Iterable[Network]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_ip(scope: Scope, trusted_proxies: list[str]) -> str:
    peer = scope.get("client")
    address = peer[0] if peer else "unknown"
    networks = _networks(tuple(trusted_proxies))
    if not networks or not _is_trusted(address, networks):
        return str(address)
    forwarded = [
        value.decode("latin-1")
        for name, value in scope.get("headers", [])
        if name == b"x-forwarded-for"
    ]
    hops = [h.strip() for h in ",".join(forwarded).split(",") if h.strip()]
    for hop in reversed(hops):  # the right-most address not ours is the client
        if not _is_trusted(hop, networks):
            return hop
    return hops[0] if hops else str(address)
