"""Who is asking: the client's address, taken from X-Forwarded-For only behind a proxy the
operator trusts (NOTARY_TRUSTED_PROXIES); anyone else could write any address there."""

from __future__ import annotations

import ipaddress

from starlette.requests import Request


def parse_networks(entries: list[str]) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Addresses or CIDR ranges (ValueError for a malformed one)."""
    return [ipaddress.ip_network(e.strip(), strict=False) for e in entries if e.strip()]


def client_address(request: Request, trusted: list) -> str:
    """The peer's address; when the peer is a trusted proxy, the right-most address in
    X-Forwarded-For that is not itself a trusted proxy (what the first trusted hop saw)."""
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, trusted):
            return hop if _valid(hop) else peer
    return peer


def _valid(address: str) -> bool:
    try:
        ipaddress.ip_address(address)
        return True
    except ValueError:
        return False


def _is_trusted(address: str, trusted: list) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in trusted)


def client_bucket(address: str) -> str:
    """The key a client's attempts are counted under: its address, or for IPv6 its /64 (one
    subscriber gets a whole /64, so counting single IPv6 addresses would count nothing)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
