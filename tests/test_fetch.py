"""monitor.fetch against a real loopback HTTP server (tests/feed_server.py), plus pure helpers."""

from __future__ import annotations

import asyncio
import gzip
import random
import socket
import time
import tracemalloc
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from feed_server import FeedServer, default_feed, make_rss
from loopback import fake_unresolvable

from monitor.errors import FeedError
from monitor.feeds.fetch import Fetcher
from monitor.feeds.retry import next_fetch_delay, parse_retry_after
from monitor.models import FetchResult
from monitor.settings import FetchSettings

FAST = FetchSettings(connect_timeout_s=1.0, read_timeout_s=1.0, total_timeout_s=2.0, max_bytes=1 << 20,
                     max_redirects=3, per_host_concurrency=2, concurrency=8)
FEED = default_feed(3)


@pytest.fixture(scope="module")
def srv() -> Iterator[FeedServer]:
    with FeedServer() as server:
        yield server


async def _fetch(url: str, settings: FetchSettings = FAST, transport: httpx.AsyncBaseTransport | None = None,
                 **kwargs: Any) -> FetchResult:
    async with Fetcher(settings, version="9.9", transport=transport) as fetcher:
        return await fetcher.fetch(url, **kwargs)


def fetch(url: str, settings: FetchSettings = FAST, **kwargs: Any) -> FetchResult:
    return asyncio.run(_fetch(url, settings, **kwargs))


def fetch_error(url: str, settings: FetchSettings = FAST, **kwargs: Any) -> FeedError:
    with pytest.raises(FeedError) as caught:
        fetch(url, settings, **kwargs)
    return caught.value


# -- success and conditional GET ------------------------------------------------------------------

def test_it_returns_body_validators_and_lowercased_headers(srv: FeedServer) -> None:
    srv.set_feed("/ok.xml", FEED)
    result = fetch(srv.url("/ok.xml"))
    assert result.status == 200 and result.body == FEED and not result.not_modified
    assert result.etag and result.etag.startswith('"')
    assert result.last_modified == "Tue, 02 Jan 2024 03:04:05 GMT"
    assert result.headers["content-type"] == "application/rss+xml; charset=utf-8"
    assert all(key == key.lower() for key in result.headers)
    assert result.permanent_url is None and result.elapsed_s > 0


def test_it_sends_an_honest_user_agent_and_no_validators_on_first_fetch(srv: FeedServer) -> None:
    srv.set_feed("/ua.xml", FEED)
    fetch(srv.url("/ua.xml"))
    sent = [r for r in srv.requests if r.path == "/ua.xml"][-1].headers
    assert sent["user-agent"].startswith("ceasefire-monitor/9.9 (+https://")
    assert "if-none-match" not in sent and "if-modified-since" not in sent
    assert "gzip" in sent["accept-encoding"] and "br" not in sent["accept-encoding"]


def test_a_matching_etag_gives_not_modified_with_empty_body(srv: FeedServer) -> None:
    srv.set_feed("/etag.xml", FEED)
    first = fetch(srv.url("/etag.xml"))
    second = fetch(srv.url("/etag.xml"), etag=first.etag, last_modified=first.last_modified)
    assert second.not_modified and second.status == 304 and second.body == b""
    assert second.etag == first.etag
    sent = srv.requests[-1].headers
    assert sent["if-none-match"] == first.etag and sent["if-modified-since"] == first.last_modified


def test_a_stale_etag_gets_the_new_body(srv: FeedServer) -> None:
    srv.set_feed("/changed.xml", FEED)
    first = fetch(srv.url("/changed.xml"))
    srv.set_feed("/changed.xml", default_feed(5))
    second = fetch(srv.url("/changed.xml"), etag=first.etag)
    assert not second.not_modified and second.body == default_feed(5) and second.etag != first.etag


def test_last_modified_alone_gives_not_modified(srv: FeedServer) -> None:
    srv.set_feed("/lm.xml", FEED)
    result = fetch(srv.url("/lm.xml"), last_modified="Wed, 03 Jan 2024 00:00:00 GMT")
    assert result.not_modified
    assert result.last_modified == "Tue, 02 Jan 2024 03:04:05 GMT"  # the server's, not ours


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "deflate-raw"])
def test_compressed_bodies_are_decoded(srv: FeedServer, encoding: str) -> None:
    srv.set_feed(f"/z-{encoding}.xml", FEED, content_encoding=encoding)
    result = fetch(srv.url(f"/z-{encoding}.xml"))
    assert result.body == FEED
    assert result.headers["content-encoding"] == encoding.removesuffix("-raw")


# -- size cap -------------------------------------------------------------------------------------

@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_cap_is_refused(srv: FeedServer, chunked: bool) -> None:
    srv.set_behaviour(f"/big-{chunked}", "oversized", size=FAST.max_bytes + 1, chunked=chunked)
    assert fetch_error(srv.url(f"/big-{chunked}")).kind == "too_large"


def test_a_body_exactly_at_the_cap_is_accepted(srv: FeedServer) -> None:
    srv.set_behaviour("/cap", "oversized", size=FAST.max_bytes, chunked=True)
    assert len(fetch(srv.url("/cap")).body) == FAST.max_bytes


def test_the_cap_counts_decompressed_bytes(srv: FeedServer) -> None:
    body = make_rss([{"title": "x", "description": " " * (FAST.max_bytes + 10)}])
    srv.set_feed("/gz-big.xml", body, content_encoding="gzip")
    assert len(gzip.compress(body)) < FAST.max_bytes  # small on the wire
    assert fetch_error(srv.url("/gz-big.xml")).kind == "too_large"


def test_a_gzip_bomb_is_stopped_without_inflating_it_in_memory(srv: FeedServer) -> None:
    srv.set_behaviour("/bomb", "gzip_bomb", size=256 * 1024 * 1024)  # compressed now, not while we wait
    # A deadline far beyond the work (a 1 MiB cap), so only the cap can end this fetch, however busy the machine.
    patient = FetchSettings(connect_timeout_s=60, read_timeout_s=60, total_timeout_s=120, max_bytes=FAST.max_bytes)
    tracemalloc.start()
    try:
        error = fetch_error(srv.url("/bomb"), patient)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert error.kind == "too_large", error.message
    # One undecoded 64 KiB network chunk of this bomb inflates to ~64 MiB in a single zlib call.
    assert peak < 16 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


# -- redirects and schemes ------------------------------------------------------------------------

def test_a_permanent_redirect_is_followed_and_reported(srv: FeedServer) -> None:
    srv.set_feed("/new.xml", FEED)
    srv.set_behaviour("/old.xml", "redirect", target="/new.xml", code=301)
    result = fetch(srv.url("/old.xml"))
    assert result.body == FEED and result.permanent_url == srv.url("/new.xml")


def test_a_temporary_redirect_is_followed_but_not_reported(srv: FeedServer) -> None:
    srv.set_feed("/tmp-target.xml", FEED)
    srv.set_behaviour("/tmp.xml", "redirect", target=srv.url("/tmp-target.xml"), code=302)
    result = fetch(srv.url("/tmp.xml"))
    assert result.body == FEED and result.permanent_url is None


def test_permanent_url_stops_at_the_first_temporary_hop(srv: FeedServer) -> None:
    srv.set_feed("/chain-end.xml", FEED)
    srv.set_behaviour("/chain-2", "redirect", target="/chain-end.xml", code=302)
    srv.set_behaviour("/chain-1", "redirect", target="/chain-2", code=308)
    assert fetch(srv.url("/chain-1")).permanent_url == srv.url("/chain-2")


def test_a_redirect_loop_hits_the_cap(srv: FeedServer) -> None:
    srv.set_behaviour("/loop", "redirect_loop")
    assert fetch_error(srv.url("/loop")).kind == "too_many_redirects"
    assert srv.hits("/loop") == FAST.max_redirects + 1


def test_a_chain_exactly_at_the_cap_is_followed(srv: FeedServer) -> None:
    srv.set_feed("/hop-end.xml", FEED)
    target = "/hop-end.xml"
    for i in range(FAST.max_redirects):
        srv.set_behaviour(f"/hop-{i}", "redirect", target=target, code=302)
        target = f"/hop-{i}"
    assert fetch(srv.url(target)).body == FEED


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://127.0.0.1/feed.xml", "gopher://x/"])
def test_redirects_to_other_schemes_are_refused(srv: FeedServer, target: str) -> None:
    srv.set_behaviour("/evil", "redirect_to_scheme", target=target)
    assert fetch_error(srv.url("/evil")).kind == "bad_scheme"


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/f.xml", "example.org/feed",
                                 "http://", "javascript:alert(1)"])
def test_non_http_urls_are_refused_without_io(url: str) -> None:
    assert fetch_error(url).kind == "bad_scheme"


# -- statuses -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("code", "kind"), [(404, "http_404"), (500, "http_500"), (403, "http_403"),
                                            (410, "gone"), (429, "too_many_requests"), (503, "unavailable")])
def test_error_statuses_map_to_stable_kinds(srv: FeedServer, code: int, kind: str) -> None:
    srv.set_behaviour(f"/status-{code}", "status", code=code)
    error = fetch_error(srv.url(f"/status-{code}"))
    assert (error.kind, error.status, error.retry_after) == (kind, code, None)


def test_429_carries_retry_after_seconds(srv: FeedServer) -> None:
    srv.set_behaviour("/busy", "status", code=429, retry_after="120")
    assert fetch_error(srv.url("/busy")).retry_after == 120.0


def test_503_carries_retry_after_from_an_http_date(srv: FeedServer) -> None:
    when = datetime.fromtimestamp(time.time() + 600, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    srv.set_behaviour("/maint", "status", code=503, retry_after=when)
    error = fetch_error(srv.url("/maint"))
    assert error.kind == "unavailable" and error.retry_after is not None
    assert 590 <= error.retry_after <= 600


NOW = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    (None, None), ("", None), ("  ", None), ("0", 0.0), ("120", 120.0), (" 7 ", 7.0),
    ("-5", None), ("1.5", None), ("soon", None),
    ("Mon, 01 Jan 2024 12:10:00 GMT", 600.0),
    ("Mon, 01 Jan 2024 11:00:00 GMT", 0.0),  # in the past
    ("Monday, 01-Jan-24 12:01:00 GMT", 60.0),  # RFC 850 form
])
def test_parse_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


# -- timeouts, deadline and broken connections ----------------------------------------------------

def test_a_hanging_server_times_out_quickly(srv: FeedServer) -> None:
    srv.set_behaviour("/hang", "hang", seconds=300)
    started = time.monotonic()
    assert fetch_error(srv.url("/hang")).kind == "timeout"
    assert time.monotonic() - started < 30 * FAST.read_timeout_s  # ended by the timeout, not by the server


def test_a_slow_drip_is_cut_off_by_the_overall_deadline(srv: FeedServer) -> None:
    # 20 bytes/s never trips the 1 s read timeout, so only the overall deadline can end this.
    srv.set_behaviour("/drip", "slow_drip", rate=20)
    settings = FetchSettings(connect_timeout_s=1, read_timeout_s=1, total_timeout_s=0.5)
    started = time.monotonic()
    error = fetch_error(srv.url("/drip"), settings)
    elapsed = time.monotonic() - started
    assert error.kind == "timeout"
    assert 0.5 <= elapsed < 20  # the deadline, never earlier; the whole body would take ~40 s at this rate


def test_the_deadline_covers_a_whole_redirect_chain(srv: FeedServer) -> None:
    # Each hop leaves 1.5 s of slack under the deadline (for a busy machine); the two together exceed it.
    srv.set_behaviour("/dl-end", "slow_response", delay=2.0)
    srv.set_behaviour("/dl-start", "redirect", target="/dl-end", code=302, delay=2.0)
    settings = FetchSettings(connect_timeout_s=5, read_timeout_s=5, total_timeout_s=3.5)
    assert fetch(srv.url("/dl-end"), settings).status == 200  # each hop fits the deadline alone
    assert fetch_error(srv.url("/dl-start"), settings).kind == "timeout"  # the chain does not


def test_a_reset_connection_is_reported_as_reset(srv: FeedServer) -> None:
    srv.set_behaviour("/reset", "reset")
    assert fetch_error(srv.url("/reset")).kind == "reset"


def test_a_body_shorter_than_declared_is_reported_as_reset(srv: FeedServer) -> None:
    srv.set_behaviour("/short", "short_body")
    assert fetch_error(srv.url("/short")).kind == "reset"


def test_a_refused_connection_is_reported_as_connect() -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert fetch_error(f"http://127.0.0.1:{port}/feed").kind == "connect"


def test_an_unresolvable_host_is_reported_as_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_unresolvable(monkeypatch)  # the real resolver's speed (or absence) here is not the subject
    assert fetch_error("http://no-such-host.invalid/feed.xml").kind == "dns"
    assert fetch_error("http://no-such-host.invalid/feed.xml", NO_PRIVATE).kind == "dns"


def test_tls_to_a_plain_http_server_is_reported_as_tls(srv: FeedServer) -> None:
    srv.set_feed("/tls.xml", FEED)
    assert fetch_error(srv.url("/tls.xml").replace("http://", "https://")).kind == "tls"


# -- private addresses ----------------------------------------------------------------------------

NO_PRIVATE = FetchSettings(connect_timeout_s=1, read_timeout_s=1, total_timeout_s=2,
                           allow_private_addresses=False)


def test_private_addresses_are_refused_before_connecting(srv: FeedServer) -> None:
    srv.set_feed("/private.xml", FEED)
    assert fetch_error(srv.url("/private.xml"), NO_PRIVATE).kind == "private_address"
    assert fetch_error(f"http://localhost:{srv.port}/private.xml", NO_PRIVATE).kind == "private_address"
    assert srv.hits("/private.xml") == 0


@pytest.mark.parametrize("target", ["http://127.0.0.1/admin", "http://10.1.2.3/", "http://169.254.169.254/",
                                    "http://[::1]/", "http://[::ffff:192.168.0.1]/", "http://0.0.0.0/"])
def test_redirects_to_private_addresses_are_refused(target: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "93.184.216.34", "must never be sent to the private target"
        return httpx.Response(302, headers={"Location": target})

    with pytest.raises(FeedError) as caught:
        asyncio.run(_fetch("http://93.184.216.34/feed", NO_PRIVATE, transport=httpx.MockTransport(handler)))
    assert caught.value.kind == "private_address"


# -- concurrency ----------------------------------------------------------------------------------

async def _fetch_many(urls: list[str], settings: FetchSettings) -> list[FetchResult]:
    async with Fetcher(settings, version="9.9") as fetcher:
        return await asyncio.gather(*(fetcher.fetch(url) for url in urls))


def test_per_host_concurrency_is_limited(srv: FeedServer) -> None:
    srv.set_behaviour("/slow-a", "slow_response", delay=0.5)
    settings = FetchSettings(per_host_concurrency=2, concurrency=16, total_timeout_s=5)
    results = asyncio.run(_fetch_many([srv.url("/slow-a")] * 6, settings))
    assert all(r.status == 200 for r in results)
    assert srv.max_concurrent("/slow-a") == 2


def test_global_concurrency_is_limited(srv: FeedServer) -> None:
    srv.set_behaviour("/slow-b", "slow_response", delay=0.5)
    settings = FetchSettings(per_host_concurrency=8, concurrency=3, total_timeout_s=5)
    asyncio.run(_fetch_many([srv.url("/slow-b")] * 7, settings))
    assert srv.max_concurrent("/slow-b") == 3


def test_queueing_for_a_slot_does_not_eat_the_deadline(srv: FeedServer) -> None:
    # Four 0.5 s requests through one slot take 2 s in all, more than the 1.5 s deadline.
    srv.set_behaviour("/slow-c", "slow_response", delay=0.5)
    settings = FetchSettings(per_host_concurrency=1, total_timeout_s=1.5)
    results = asyncio.run(_fetch_many([srv.url("/slow-c")] * 4, settings))
    assert [r.status for r in results] == [200] * 4


# -- backoff --------------------------------------------------------------------------------------

@pytest.mark.parametrize(("failures", "retry_after", "low", "high"), [
    (0, None, 600, 600),           # healthy: exactly the interval
    (0, 1200, 1200, 1200),         # Retry-After beats the interval even when healthy
    (1, None, 600, 600),           # backoff ceiling 60 s < interval: the interval wins
    (5, None, 600, 960),           # ceiling 60 * 2**4
    (8, None, 600, 7680),
    (9, None, 600, 14400),         # capped at max_s
    (10_000, None, 600, 14400),    # no overflow
    (3, 99_999, 14400, 14400),     # hostile Retry-After is capped at max_s
    (3, -5, 600, 600),             # negative Retry-After ignored
])
def test_next_fetch_delay_bounds(failures: int, retry_after: float | None, low: float, high: float) -> None:
    rng = random.Random(42)
    for _ in range(300):
        delay = next_fetch_delay(failures, interval_s=600, base_s=60, max_s=14400,
                                 retry_after_s=retry_after, rng=rng)
        assert low <= delay <= high


def test_next_fetch_delay_is_jittered_and_grows() -> None:
    def mean(failures: int) -> float:
        rng = random.Random(1)
        return sum(next_fetch_delay(failures, interval_s=0, base_s=10, max_s=10_000, rng=rng)
                   for _ in range(2000)) / 2000

    delays = {next_fetch_delay(6, interval_s=0, base_s=10, max_s=10_000, rng=random.Random(seed))
              for seed in range(20)}
    assert len(delays) == 20  # jittered: feeds failing together do not retry together
    assert mean(2) < mean(4) < mean(6) < mean(8)
    assert 150 < mean(6) < 170  # full jitter: mean is half the 320 s ceiling


def test_next_fetch_delay_interval_above_max_wins() -> None:
    assert next_fetch_delay(20, interval_s=86400, base_s=60, max_s=3600, rng=random.Random(0)) == 86400


def test_next_fetch_delay_rejects_negative_input() -> None:
    with pytest.raises(ValueError):
        next_fetch_delay(-1, interval_s=600, base_s=60, max_s=3600)
