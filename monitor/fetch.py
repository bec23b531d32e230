"""Fetch a feed over HTTP(S): URL + cache headers -> FetchResult, or FeedError.     [I/O]

Every failure becomes a FeedError with a stable `kind` (see monitor.errors). The body handed back
has already been decompressed, counted against `max_bytes` while streaming, and read under one
deadline, so whatever parses it next (feedparser has no timeout of its own) only ever sees bounded
bytes obtained in bounded time (DESIGN §5).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import ipaddress
import random
import socket
import ssl
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import httpx

from monitor.errors import FeedError
from monitor.models import FetchResult
from monitor.redact import redact_text
from monitor.settings import FetchSettings

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
_SCHEMES = frozenset({"http", "https"})
# Largest piece a decompressor may emit in one step: a gzip bomb expands ~1000:1, so decoding a
# 64 KiB network chunk in one call could allocate ~64 MiB before the size cap is even checked.
_PIECE = 64 * 1024
# Only what _Decoder can decode with bounded output. br is deliberately not offered: the Brotli
# bindings cannot bound the output of one call, and brotli is not a dependency.
_ACCEPT_ENCODING = "gzip, deflate"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"
_RNG = random.Random()


class Fetcher:
    """An HTTP client for feeds, shared by all feed polls of one process (one event loop).

    Concurrency is bounded per host (`per_host_concurrency`, politeness) and overall
    (`concurrency`). Use as `async with Fetcher(...) as f:` or call `aclose()` when done.
    """

    def __init__(self, settings: FetchSettings, *, version: str,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self._settings = settings
        timeout = httpx.Timeout(connect=settings.connect_timeout_s, read=settings.read_timeout_s,
                                write=settings.read_timeout_s, pool=settings.connect_timeout_s)
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,  # followed by hand: scheme check, address check, permanent_url
            limits=httpx.Limits(max_connections=settings.concurrency,
                                max_keepalive_connections=settings.concurrency),
            headers={
                "User-Agent": settings.user_agent.format(version=version),
                "Accept": _ACCEPT,
                "Accept-Encoding": _ACCEPT_ENCODING,
            },
        )
        self._global = asyncio.Semaphore(settings.concurrency)
        self._per_host: dict[str, asyncio.Semaphore] = {}

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections. The Fetcher must not be used afterwards."""
        await self._client.aclose()

    async def fetch(self, url: str, *, etag: str | None = None,
                    last_modified: str | None = None) -> FetchResult:
        """GET `url`, conditionally when `etag` / `last_modified` (from a previous result) are given.

        Returns a FetchResult for 2xx (body decompressed, at most `max_bytes`) and for 304
        (`not_modified=True`, empty body). Redirects are followed up to `max_redirects`;
        `permanent_url` is where the leading run of 301/308 hops points, if there was one.
        Raises FeedError for anything else, credentials in the URLs of its message masked. The deadline
        `total_timeout_s` starts when the first request gets its concurrency slot, so time spent queueing
        behind other feeds is not counted.
        """
        try:
            return await self._fetch(url, etag, last_modified)
        except FeedError as err:
            # Messages name URLs and end up in logs, `feeds` and the API: a private feed's URL may carry
            # a token (?token=…) or a password (user:pass@host).
            err.message = redact_text(err.message)
            err.args = (err.message,)
            raise

    async def _fetch(self, url: str, etag: str | None, last_modified: str | None) -> FetchResult:
        started = time.monotonic()
        request_headers = _conditional_headers(etag, last_modified)
        current = _checked_url(url)
        permanent_url: str | None = None
        only_permanent_so_far = True
        deadline: float | None = None
        for _ in range(self._settings.max_redirects + 1):
            async with self._slot(current.host):
                if deadline is None:
                    deadline = asyncio.get_running_loop().time() + self._settings.total_timeout_s
                outcome = await self._exchange_before(deadline, current, request_headers)
            if isinstance(outcome, _Redirect):
                only_permanent_so_far = only_permanent_so_far and outcome.status in _PERMANENT_REDIRECTS
                if only_permanent_so_far:
                    permanent_url = str(outcome.target)
                current = outcome.target
                continue
            return _result(outcome, etag, last_modified, permanent_url, time.monotonic() - started)
        raise FeedError("too_many_redirects",
                        f"more than {self._settings.max_redirects} redirects from {url}")

    @contextlib.asynccontextmanager
    async def _slot(self, host: str) -> AsyncIterator[None]:
        # The host semaphore is taken before the global one, so requests queued behind a busy host
        # never hold global slots that requests to other hosts could use.
        per_host = self._per_host.get(host)
        if per_host is None:
            per_host = self._per_host[host] = asyncio.Semaphore(self._settings.per_host_concurrency)
        async with per_host, self._global:
            yield

    async def _exchange_before(self, deadline: float, url: httpx.URL,
                               headers: dict[str, str]) -> _Response | _Redirect:
        try:
            async with asyncio.timeout_at(deadline):
                return await self._exchange(url, headers)
        except TimeoutError:
            raise FeedError("timeout", f"no complete answer within {self._settings.total_timeout_s:g}s "
                                       f"from {url}") from None

    async def _exchange(self, url: httpx.URL, headers: dict[str, str]) -> _Response | _Redirect:
        """One request/response. Returns a redirect to follow or a 2xx/304 answer; raises FeedError."""
        if not self._settings.allow_private_addresses:
            await _refuse_private_address(url)
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code in _REDIRECTS:
                    return _Redirect(response.status_code, _redirect_target(response))
                if response.status_code == 304:
                    return _Response(response, b"")
                _raise_for_status(response)
                return _Response(response, await _read_capped(response, self._settings.max_bytes))
        except httpx.TransportError as exc:
            raise _transport_error(exc, url) from exc


@dataclass(frozen=True)
class _Redirect:
    status: int
    target: httpx.URL


@dataclass(frozen=True)
class _Response:
    response: httpx.Response
    body: bytes


def _result(outcome: _Response, etag: str | None, last_modified: str | None,
            permanent_url: str | None, elapsed_s: float) -> FetchResult:
    response = outcome.response
    headers = {key.lower(): value for key, value in response.headers.items()}
    not_modified = response.status_code == 304
    # A 304 may omit validators; keep the ones sent so the stored state is not lost.
    return FetchResult(
        status=response.status_code,
        body=outcome.body,
        headers=headers,
        etag=headers.get("etag") or (etag if not_modified else None),
        last_modified=headers.get("last-modified") or (last_modified if not_modified else None),
        not_modified=not_modified,
        permanent_url=permanent_url,
        elapsed_s=elapsed_s,
    )


def _conditional_headers(etag: str | None, last_modified: str | None) -> dict[str, str]:
    headers: dict[str, str] = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _checked_url(url: str | httpx.URL) -> httpx.URL:
    """Parse `url`; raise FeedError("bad_scheme") unless it is an absolute http(s) URL."""
    try:
        parsed = httpx.URL(url.strip() if isinstance(url, str) else url)
    except (httpx.InvalidURL, TypeError) as exc:
        raise FeedError("bad_scheme", f"invalid URL {str(url)[:200]!r}: {exc}") from None
    if parsed.scheme not in _SCHEMES or not parsed.host:
        raise FeedError("bad_scheme", f"refusing URL {str(url)[:200]!r}: only http(s) URLs are fetched")
    return parsed


def _redirect_target(response: httpx.Response) -> httpx.URL:
    location = response.headers.get("location")
    if not location:
        raise FeedError(f"http_{response.status_code}", f"redirect without Location from {response.url}",
                        status=response.status_code)
    try:
        target = response.url.join(location.strip())
    except httpx.InvalidURL as exc:
        raise FeedError("bad_scheme", f"invalid redirect target {location[:200]!r}: {exc}") from None
    return _checked_url(target)


def _raise_for_status(response: httpx.Response) -> None:
    """Raise FeedError for any status but 2xx (304 and redirects are handled before)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    kind = {410: "gone", 429: "too_many_requests", 503: "unavailable"}.get(status, f"http_{status}")
    raise FeedError(kind, f"HTTP {status} from {response.url}", status=status, retry_after=retry_after)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delay-seconds or HTTP-date); None if absent or invalid.

    A date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" dates come back naive; HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


async def _refuse_private_address(url: httpx.URL) -> None:
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


async def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    """Stream the body, decompressing it in bounded pieces; FeedError("too_large") past `max_bytes`."""
    decoder = _Decoder(response.headers.get("content-encoding", ""))
    declared = response.headers.get("content-length", "")
    if decoder.identity and declared.isdigit() and int(declared) > max_bytes:
        raise FeedError("too_large", f"{response.url} declares {declared} bytes, cap is {max_bytes}")
    body = bytearray()

    def take(pieces: Iterable[bytes]) -> None:
        for piece in pieces:
            body.extend(piece)
            if len(body) > max_bytes:
                raise FeedError("too_large", f"body of {response.url} exceeds {max_bytes} bytes "
                                             "(after decompression)")

    async for chunk in response.aiter_raw():
        take(decoder.feed(chunk))
    take(decoder.finish())
    return bytes(body)


class _Inflater:
    """gzip / deflate decompression that emits at most _PIECE bytes per step (gzip-bomb safe).

    Raises FeedError("parse_error") on a corrupt stream.
    """

    def __init__(self, encoding: str) -> None:
        self._gzip = encoding in ("gzip", "x-gzip")
        self._d = zlib.decompressobj(zlib.MAX_WBITS | 16) if self._gzip else None
        self._head = b""  # first bytes of a "deflate" body, until we know whether it is zlib-wrapped

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            # "deflate" should be zlib-wrapped (RFC 9110) but some servers send raw deflate.
            self._head += data
            if len(self._head) < 2:
                return
            data, self._head = self._head, b""
            zlib_wrapped = data[0] & 0x0F == 8 and (data[0] << 8 | data[1]) % 31 == 0
            self._d = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        try:
            while not self._d.eof:
                out = self._d.decompress(data, _PIECE)
                if out:
                    yield out
                data = self._d.unconsumed_tail
                # A full piece may mean more output is pending even with no input left.
                if not data and len(out) < _PIECE:
                    return
        except zlib.error as exc:
            raise FeedError("parse_error", f"corrupt compressed body: {exc}") from None

    def finish(self) -> bytes:
        """Whatever output is still pending at the end of the body (small: input was drained by feed)."""
        if self._d is None:
            if self._head:
                raise FeedError("parse_error", "corrupt compressed body: too short")
            return b""
        try:
            return b"" if self._d.eof else self._d.flush()
        except zlib.error as exc:
            raise FeedError("parse_error", f"corrupt compressed body: {exc}") from None


class _Decoder:
    """The Content-Encoding stack of one response, undone in reverse order, lazily.

    Pieces flow through the stages as generators, so at most one bounded piece per stage is alive.
    """

    def __init__(self, content_encoding: str) -> None:
        names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
        names = [n for n in names if n != "identity"]
        unknown = [n for n in names if n not in ("gzip", "x-gzip", "deflate")]
        if unknown:
            raise FeedError("parse_error", f"unsupported Content-Encoding {content_encoding!r}")
        self._stages = [_Inflater(n) for n in reversed(names)]
        self.identity = not self._stages

    def feed(self, data: bytes) -> Iterator[bytes]:
        return self._through(0, (data,))

    def finish(self) -> Iterator[bytes]:
        for i, stage in enumerate(self._stages):
            yield from self._through(i + 1, (stage.finish(),))

    def _through(self, start: int, pieces: Iterable[bytes]) -> Iterator[bytes]:
        for stage in self._stages[start:]:
            pieces = _fed(stage, pieces)
        for piece in pieces:
            if piece:
                yield piece


def _fed(stage: _Inflater, pieces: Iterable[bytes]) -> Iterator[bytes]:
    for piece in pieces:
        yield from stage.feed(piece)


def _causes(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _transport_error(exc: httpx.TransportError, url: httpx.URL) -> FeedError:
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


def next_fetch_delay(consecutive_failures: int, *, interval_s: float, base_s: float, max_s: float,
                     retry_after_s: float | None = None, rng: random.Random | None = None) -> float:
    """Seconds until a feed is fetched again, after `consecutive_failures` failures in a row (0: healthy).

    Healthy feeds wait exactly `interval_s`. Failing ones wait a "full jitter" exponential backoff,
    uniform in [0, min(max_s, base_s * 2**(failures-1))], so many feeds failing together (one host
    down) spread out on recovery. The result is never below `interval_s` (we never poll faster
    because of failures) nor below `retry_after_s`; the server's Retry-After is itself capped at
    `max_s` so a hostile value cannot park a feed for ever. Raises ValueError on negative input.
    """
    if consecutive_failures < 0 or interval_s < 0 or base_s < 0 or max_s < 0:
        raise ValueError("next_fetch_delay: negative argument")
    floor = interval_s
    if retry_after_s is not None:
        floor = max(floor, min(max(retry_after_s, 0.0), max_s))
    if consecutive_failures == 0:
        return floor
    # Exponent clamped: 2**1100 overflows a float, and anything past 2**64 * base is past max_s anyway.
    ceiling = min(max_s, base_s * 2.0 ** min(consecutive_failures - 1, 64))
    return max(floor, (rng or _RNG).uniform(0.0, ceiling))
