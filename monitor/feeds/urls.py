"""Which URLs may be fetched: absolute http(s) URLs only (redirect targets included), and, where the
settings say so, no host that is or resolves to a non-public address."""

from __future__ import annotations

import asyncio
import ipaddress
import socket

import httpx

from monitor.errors import FeedError

_SCHEMES = frozenset({"http", "https"})


def checked_url(url: str | httpx.URL) -> httpx.URL:
    """Parse `url`; raise FeedError("bad_scheme") unless it is an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url.strip() if isinstance(url, str) else url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FeedError("bad_scheme", f"invalid URL {str(url)[:200]!r}: {exc}") from None
    if parsed.scheme not in _SCHEMES or not parsed.host:
        raise FeedError("bad_scheme", f"refusing URL {str(url)[:200]!r}: only http(s) URLs are fetched")
    return parsed


def redirect_target(response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise FeedError(f"http_{response.status_code}", f"redirect without Location from {response.url}",
                        status=response.status_code)
    try:
        target = response.url.join(location.strip())
    except httpx.InvalidURL as exc:
        raise FeedError("bad_scheme", f"invalid redirect target {location[:200]!r}: {exc}") from None
    return checked_url(target)


async def refuse_private_address(url: httpx.URL) -> None:
    """Raise FeedError("private_address") if the host is, or resolves to, a non-public address.

    The name is resolved again when connecting, so a DNS-rebinding server could still swap the
    address in between; this guards against configured or redirected URLs, not against a hostile DNS.
    """
    host = url.raw_host.decode("ascii")  # IDNA-encoded already: no codec surprises in getaddrinfo
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:
        try:
            infos = await asyncio.get_running_loop().getaddrinfo(host, url.port or 443,
                                                                 type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise FeedError("dns", f"cannot resolve {host}: {exc}") from None
        addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    for address in addresses:
        if _is_private(address):
            raise FeedError("private_address", f"{host} resolves to non-public address {address}")


def _is_private(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return not address.is_global or address.is_multicast
