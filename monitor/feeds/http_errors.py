"""Failures of an HTTP exchange as FeedErrors with a stable `kind`: error statuses and transport errors."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx

from monitor.errors import FeedError
from monitor.feeds.retry import parse_retry_after


def raise_for_status(response: httpx.Response) -> None:
    """Raise FeedError for any status but 2xx (304 and redirects are handled before)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    kind = {410: "gone", 429: "too_many_requests", 503: "unavailable"}.get(status, f"http_{status}")
    raise FeedError(kind, f"HTTP {status} from {response.url}", status=status, retry_after=retry_after)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def transport_error(exc: httpx.TransportError, url: httpx.URL) -> FeedError:
    """Map an httpx transport failure to a FeedError with a stable kind."""
    causes = list(_causes(exc))
    detail = str(exc) or type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        return FeedError("timeout", f"{type(exc).__name__} talking to {url.host}")
    if any(isinstance(c, socket.gaierror) for c in causes):
        return FeedError("dns", f"cannot resolve {url.host}: {detail}")
    if any(isinstance(c, ssl.SSLError | ssl.CertificateError) for c in causes):
        return FeedError("tls", f"TLS failure with {url.host}: {detail}")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return FeedError("bad_scheme", f"unsupported URL {url}: {detail}")
    if isinstance(exc, httpx.ConnectError) and not any(isinstance(c, ConnectionResetError) for c in causes):
        return FeedError("connect", f"cannot connect to {url.host}: {detail}")
    # ReadError / WriteError / RemoteProtocolError: the server broke off (or garbled) the exchange.
    return FeedError("reset", f"connection to {url.host} broken: {detail}")
