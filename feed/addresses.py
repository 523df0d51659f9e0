"""Where a receiver may be: an https:// URL whose host resolves only to public addresses.

The feed posts certificates (and, to entitled receivers, personal data) to the URL: a URL
pointing into the service's own network (a metadata endpoint, a database port, the chain
node) would turn the feed into a way in. Checked when a receiver is added and again before
each request, since a name may resolve elsewhere later (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket
import urllib.parse

from .errors import BadReceiver

MAX_URL = 2000


def check_url(url: str, allow_insecure: bool) -> str:
    """The URL if a receiver may be there; BadReceiver (422) saying why otherwise.
    ``allow_insecure``: development and tests (http://, loopback and private addresses)."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL or any(ord(c) < 0x21 or ord(c) == 0x7f for c in url):
        raise BadReceiver("the receiver's URL must be one line of at most 2000 characters, without spaces",
                          "接收地址须为不超过2000个字符、不含空格的一行")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in (("https", "http") if allow_insecure else ("https",)):
        raise BadReceiver("the receiver's URL must start with https://", "接收地址须以 https:// 开头")
    if not parts.hostname or parts.username or parts.password:
        raise BadReceiver("the receiver's URL must name a host, without a user name or password",
                          "接收地址须包含主机名，且不能含用户名或密码")
    try:
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError:
        raise BadReceiver("the receiver's URL has a port out of range", "接收地址端口无效") from None
    if not allow_insecure:
        check_host(parts.hostname, parts.port or 443)
    return url


def check_host(host: str, port: int) -> None:
    """BadReceiver unless every address ``host`` resolves to is a public one."""
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)}
    except (socket.gaierror, UnicodeError):
        raise BadReceiver(f"the receiver's host '{host}' does not resolve", f"接收方主机名“{host}”无法解析") from None
    for address in found:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
        if not ip.is_global or ip.is_multicast:
            raise BadReceiver(f"the receiver's host '{host}' resolves to a non-public address ({ip})",
                              f"接收方主机名“{host}”解析到非公网地址（{ip}）")
