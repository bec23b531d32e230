"""Fetch a feed over HTTP(S): URL + cache headers -> FetchResult, or FeedError.     [I/O]

Every failure becomes a FeedError with a stable `kind` (see monitor.errors). The body handed back
has already been decompressed, counted against `max_bytes` while streaming, and read under one
deadline, so whatever parses it next (feedparser has no timeout of its own) only ever sees bounded
bytes obtained in bounded time (DESIGN §5).

This module holds the exchange itself (redirects, concurrency slots, the deadline, conditional GET);
the checks and limits it applies live in monitor.fetch_urls (which URLs and addresses), monitor.fetch_body
(the bounded, decompressed body), monitor.fetch_errors (failures as FeedError kinds) and
monitor.fetch_retry (Retry-After and backoff: when to fetch again).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from types import TracebackType

import httpx

from monitor.errors import FeedError
from monitor.feeds.body import read_capped
from monitor.feeds.http_errors import raise_for_status, transport_error
from monitor.feeds.urls import checked_url, redirect_target, refuse_private_address
from monitor.models import FetchResult
from monitor.redact import redact_text
from monitor.settings import FetchSettings

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_PERMANENT_REDIRECTS = frozenset({301, 308})
# Only what monitor.fetch_body can decode with bounded output. br is deliberately not offered: the Brotli
# bindings cannot bound the output of one call, and brotli is not a dependency.
_ACCEPT_ENCODING = "gzip, deflate"
_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


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
        current = checked_url(url)
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
            await refuse_private_address(url)
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                if response.status_code in _REDIRECTS:
                    return _Redirect(response.status_code, redirect_target(response))
                if response.status_code == 304:
                    return _Response(response, b"")
                raise_for_status(response)
                return _Response(response, await read_capped(response, self._settings.max_bytes))
        except httpx.TransportError as exc:
            raise transport_error(exc, url) from exc


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
