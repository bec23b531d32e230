"""Faults survived (issue 6): one hostile feed among good ones, through the real poll cycle.

Each behaviour is its own test. A cycle runs `run_cycle` over a real loopback FeedServer with three good
feeds (RSS, Atom, gzip-encoded) and the hostile one, on SQLite (and the behaviours the store writes
differently on PostgreSQL as well, as is the all-at-once cycle), twice: the second
time after the test's clock has moved to the hostile feed's next fetch time. For every behaviour:

- both cycles complete and log no crash (a bug in a poll shows up as an ERROR record, never an exception);
- the good feeds are processed: their items are stored, their state is healthy;
- the hostile feed alone is failing, with the expected `last_error_kind` and a message, its
  `consecutive_failures` goes 1 then 2, and its next fetch is exactly the backoff drawn from the
  cycle's seeded RNG (or the server's Retry-After, when that is later); or, for a feed that is odd but
  usable, its usable items are stored and nothing is marked failing;
- the cycle's peak of Python allocations (tracemalloc) stays under the stated limit.

Time is the Deps clock: nothing sleeps except the slow behaviours themselves, cut off by a 5 s deadline
(the others have deadlines far beyond their work, so a busy machine does not change their outcome).
Name resolution is faked for `.invalid` hosts (tests/loopback.py).
"""

from __future__ import annotations

import asyncio
import logging
import random
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import hostile
import pytest
from feed_server import FeedServer, _bomb, make_atom, make_rss
from loopback import fake_unresolvable
from sqlalchemy import func, select

from monitor.feeds.fetch import Fetcher
from monitor.feeds.parse import parse_feed
from monitor.feeds.retry import next_fetch_delay
from monitor.pipeline import CycleReport, Deps, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, FeedSettings, FetchSettings, Settings
from monitor.store import FeedRow, Store
from monitor.store.schema import articles

START = datetime.now(UTC).replace(microsecond=0)
SEED = 20240913
MiB = 1024 * 1024
# Deadlines far beyond the work, so a busy machine never turns a good feed's fetch into a timeout; the
# behaviours whose subject is the deadline (a drip, a hang) get a short one of their own (SHORT).
FETCH = FetchSettings(connect_timeout_s=10.0, read_timeout_s=30.0, total_timeout_s=60.0, max_bytes=256 * 1024,
                      max_redirects=3, per_host_concurrency=8, concurrency=16, default_interval_s=60,
                      backoff_base_s=600, backoff_max_s=4 * 3600, lease_s=120)
# The peak of Python allocations during one cycle, feed server threads included. A cycle of four small
# feeds needs a few MiB; the caps are what keeps a 64 MiB gzip bomb or a 5 MB body from counting.
DEFAULT_PEAK = 8 * MiB

GOOD = {
    "good-rss": (make_rss([
        {"title": "Shelling kills 4 civilians in Donetsk", "link": "https://good.example/rss/1", "guid": "r1",
         "pub_date": START - timedelta(hours=1),
         "description": "Artillery shelling hit Donetsk, Ukraine, killing four civilians."},
        {"title": "Parliament passes the budget", "link": "https://good.example/rss/2", "guid": "r2",
         "pub_date": START - timedelta(hours=2), "description": "The vote was 80 to 20."}]), None),
    "good-atom": (make_atom([
        {"title": "Museum reopens after renovation", "link": "https://good.example/atom/1", "id": "a1",
         "summary": "Visitors returned on Monday.", "published": START - timedelta(hours=3)},
        {"title": "Rail strike called off", "link": "https://good.example/atom/2", "id": "a2",
         "summary": "Unions reached a deal.", "published": START - timedelta(hours=4)}]), None),
    "good-gzip": (make_rss([
        {"title": "Football club wins the cup", "link": "https://good.example/gz/1", "guid": "g1",
         "pub_date": START - timedelta(hours=5), "description": "A late goal decided it."},
        {"title": "New bridge opens to traffic", "link": "https://good.example/gz/2", "guid": "g2",
         "pub_date": START - timedelta(hours=6), "description": "It took three years."}]), "gzip"),
}
GOOD_ITEMS = 2  # per good feed


@dataclass
class Env:
    """What a behaviour's `install` may use to set itself up."""

    srv: FeedServer
    tmp_path: Path
    stack: list[Any] = field(default_factory=list)  # context managers to exit after the test

    def enter(self, cm: Any) -> Any:
        value = cm.__enter__()
        self.stack.append(cm)
        return value


@dataclass
class Outcome:
    """What a test saw, for a behaviour's extra `check`."""

    env: Env
    store: Store
    url: str
    first: FeedRow
    second: FeedRow | None  # None when the feed was retired and not polled again
    reports: list[CycleReport]
    hits_after: list[int]  # requests to /hostile.xml after each cycle


@dataclass(frozen=True)
class Behaviour:
    install: Callable[[Env], str]  # set up the behaviour, return the URL configured for the feed
    kind: str | None  # the expected last_error_kind; None: the feed is usable and processed
    retry_after: float | None = None  # Retry-After (seconds) the next fetch must honour
    retry_after_slack: float = 0.0  # an HTTP-date Retry-After is relative to the real clock: allow this
    retired: bool = False
    items: int | None = None  # usable feeds: how many articles must be stored from it
    fetch: dict[str, Any] = field(default_factory=dict)  # FetchSettings overrides
    peak: int = DEFAULT_PEAK
    peak_by_rss: bool = False  # measure the resident set's growth instead of tracing allocations
    check: Callable[[Outcome], None] | None = None


# A drip of 1 byte/s or a hang is ended by this deadline only (the read timeout is longer); the good feeds
# beside it are small and local, done in milliseconds when idle.
SHORT = {"total_timeout_s": 5.0}


def _serve(kind: str, **params: Any) -> Callable[[Env], str]:
    def install(env: Env) -> str:
        env.srv.set_behaviour("/hostile.xml", kind, **params)
        return env.srv.url("/hostile.xml")
    return install


def _feed(body: bytes | Callable[[Env], bytes], content_type: str = "application/rss+xml; charset=utf-8",
          encoding: str | None = None) -> Callable[[Env], str]:
    def install(env: Env) -> str:
        env.srv.set_feed("/hostile.xml", body(env) if callable(body) else body, content_type,
                         content_encoding=encoding)
        return env.srv.url("/hostile.xml")
    return install


def _stored(store: Store, feed_id: int) -> list[Any]:
    with store.read() as conn:
        return list(conn.execute(select(articles).where(articles.c.feed_id == feed_id).order_by(articles.c.id)))


# -- extra checks ---------------------------------------------------------------------------------------

def _check_permanent_move(o: Outcome) -> None:
    moved = o.env.srv.url("/moved.xml")
    assert o.first.url == moved, "a 301 must update the stored URL"
    assert o.second is not None and o.second.url == moved
    assert o.hits_after == [1, 1], "the second poll must go to the new URL directly"
    assert o.env.srv.hits("/moved.xml") == 2


def _check_retired(o: Outcome) -> None:
    assert o.first.retired_at is not None and o.first.last_status == 410
    assert o.hits_after == [1, 1], "a retired feed is not polled again"
    assert o.reports[1].feeds == len(GOOD)


def _check_no_entity_expansion(o: Outcome) -> None:
    rows = _stored(o.store, o.first.id)
    assert rows and all(len(r.title) <= 500 and len(r.summary) <= 10_000 for r in rows)
    assert any(r.title == "Weather report for Tuesday" for r in rows)
    assert not any("lol" * 10 in r.title + r.summary for r in rows), "an entity was expanded"


def _check_no_quadratic_expansion(o: Outcome) -> None:
    rows = _stored(o.store, o.first.id)
    assert any(r.title == "Harvest festival opens" for r in rows)
    assert not any("A" * 1000 in r.title + r.summary for r in rows), "the large entity was expanded"


def _check_no_external_entity(o: Outcome) -> None:
    secret = (o.env.tmp_path / "secret.txt").read_text().strip()
    with o.store.read() as conn:
        stored = [" ".join(str(v) for v in row) for row in conn.execute(select(articles))]
    assert not any(secret in text for text in stored), "the local file was read into an article"
    assert o.env.srv.hits("/probe") == 0, "an external entity or DTD was fetched"
    assert any("Council meets on budget" in text for text in stored)


def _check_russian(o: Outcome) -> None:
    rows = _stored(o.store, o.first.id)
    assert [r.title for r in rows] == [hostile.RUSSIAN_TITLE]
    assert rows[0].summary == hostile.RUSSIAN_TEXT and rows[0].lang == "ru"


def _check_invalid_dates(o: Outcome) -> None:
    rows = _stored(o.store, o.first.id)
    assert len(rows) == len(hostile.INVALID_DATES)
    for row in rows:  # unusable dates fall back to the time the article was first seen
        published = row.published_at.replace(tzinfo=UTC) if row.published_at.tzinfo is None else row.published_at
        assert published == START, (row.title, published)


def _check_duplicates(o: Outcome) -> None:
    rows = _stored(o.store, o.first.id)
    assert sorted(r.title for r in rows) == ["Same guid take 0", "Same link"]
    assert o.reports[0].saved.new == len(GOOD) * GOOD_ITEMS + 2


def _check_truncated(o: Outcome) -> None:
    titles = [r.title for r in _stored(o.store, o.first.id)]
    assert titles == ["Item 0", "Item 1", "Item 2"], "the complete items are kept, the cut one dropped"


def _check_many(o: Outcome) -> None:
    assert o.first.items_seen == 10_000
    assert o.reports[1].unchanged >= 1  # the same 2 MB body is not parsed again


def _check_tls(o: Outcome) -> None:
    assert o.env.stack and o.env.stack[-1].hits == 0, "no request may pass an unverified handshake"


# -- behaviours -----------------------------------------------------------------------------------------

def _self_signed(env: Env) -> str:
    made = hostile.make_self_signed(env.tmp_path)
    if made is None:
        pytest.skip("no openssl command to make a self-signed certificate")
    tls = env.enter(hostile.TlsFeedServer(*made, hostile.many_items_feed(2, START)))
    return str(tls.url("/hostile.xml"))


def _https_to_plain_port(env: Env) -> str:
    env.srv.set_feed("/hostile.xml", make_rss([{"title": "never read", "link": "https://x.example/"}]))
    return env.srv.url("/hostile.xml").replace("http://", "https://")


def _permanent_move(env: Env) -> str:
    env.srv.set_feed("/moved.xml", make_rss([{"title": "Moved item", "link": "https://moved.example/1"}]))
    env.srv.set_behaviour("/hostile.xml", "redirect", target="/moved.xml", code=301)
    return env.srv.url("/hostile.xml")


def _external_entities(env: Env) -> bytes:
    secret = env.tmp_path / "secret.txt"
    secret.write_text("XXE-SECRET-7f3a9c2e\n")
    return hostile.external_entities(secret, env.srv.url("/probe"))


def _retry_date(seconds: int) -> str:
    return format_datetime(datetime.now(UTC) + timedelta(seconds=seconds), usegmt=True)


BEHAVIOURS: dict[str, Behaviour] = {
    "slow-drip-1-byte-per-s": Behaviour(_serve("slow_drip", rate=1.0), "timeout", fetch=SHORT),
    "hang-after-request": Behaviour(_serve("hang"), "timeout", fetch=SHORT),
    "body-far-over-cap": Behaviour(_serve("oversized", size=50 * MiB), "too_large"),
    "body-over-cap-chunked": Behaviour(_serve("oversized", size=50 * MiB, chunked=True), "too_large"),
    "gzip-bomb": Behaviour(_serve("gzip_bomb", size=64 * MiB), "too_large"),
    "corrupt-gzip": Behaviour(_serve("raw", body=b"\x1f\x8b\x08\x00garbage" * 20,
                                     headers={"Content-Type": "application/rss+xml", "Content-Encoding": "gzip"}),
                              "parse_error"),
    "unsupported-content-encoding": Behaviour(_serve("raw", body=b"\x0b\x01\x80", headers={
        "Content-Type": "application/rss+xml", "Content-Encoding": "br"}), "parse_error"),
    "xml-billion-laughs": Behaviour(_feed(hostile.billion_laughs()), None, items=2,
                                    check=_check_no_entity_expansion),
    "xml-quadratic-blowup-utf16": Behaviour(_feed(hostile.quadratic_blowup(), "application/rss+xml"), None,
                                            items=2, check=_check_no_quadratic_expansion),
    "xml-external-entity": Behaviour(_feed(_external_entities), None, items=2, check=_check_no_external_entity),
    "html-instead-of-xml": Behaviour(_serve("html_page"), "not_a_feed"),
    "empty-body": Behaviour(_serve("empty"), "not_a_feed"),
    "binary-garbage": Behaviour(_feed(bytes(range(256)) * 64, "application/octet-stream"), "parse_error"),
    "wrong-charset": Behaviour(_feed(hostile.mislabelled_russian_feed()), None, items=1, check=_check_russian),
    "missing-charset": Behaviour(_feed(hostile.russian_feed(encoding="windows-1251", declare_encoding=False),
                                       "application/rss+xml"), None, items=1, check=_check_russian),
    "truncated-xml-mid-item": Behaviour(
        _serve("truncated_xml", body=make_rss([{"title": f"Item {i}", "link": f"https://cut.example/{i}",
                                                 "description": "Some text."} for i in range(4)]),
               fraction=0.85), None, items=3, check=_check_truncated),
    "truncated-xml-in-header": Behaviour(_serve("truncated_xml", fraction=0.15), "parse_error"),
    "invalid-dates": Behaviour(_feed(hostile.invalid_dates_feed()), None, items=len(hostile.INVALID_DATES),
                               check=_check_invalid_dates),
    "duplicate-guids": Behaviour(_feed(hostile.duplicate_guids_feed()), None, items=2, check=_check_duplicates),
    "10000-items": Behaviour(_feed(hostile.many_items_feed(10_000, START - timedelta(days=1))), None,
                             items=10_000, fetch={"max_bytes": 4 * MiB}, peak=128 * MiB, peak_by_rss=True,
                             check=_check_many),
    "redirect-loop": Behaviour(_serve("redirect_loop"), "too_many_redirects"),
    "redirect-to-file-scheme": Behaviour(_serve("redirect_to_scheme", target="file:///etc/passwd"), "bad_scheme"),
    "redirect-to-ftp-scheme": Behaviour(_serve("redirect_to_scheme", target="ftp://127.0.0.1/feed.xml"),
                                        "bad_scheme"),
    "301-permanent-move": Behaviour(_permanent_move, None, items=1, check=_check_permanent_move),
    "404-not-found": Behaviour(_serve("status", code=404), "http_404"),
    "410-gone": Behaviour(_serve("status", code=410), "gone", retired=True, check=_check_retired),
    "429-retry-after-seconds": Behaviour(_serve("status", code=429, retry_after="5000"), "too_many_requests",
                                         retry_after=5000),
    "503-retry-after-date": Behaviour(lambda env: _serve("status", code=503, retry_after=_retry_date(3000))(env),
                                      "unavailable", retry_after=3000, retry_after_slack=5),
    "503-retry-after-absurd": Behaviour(_serve("status", code=503, retry_after="999999999"), "unavailable",
                                        retry_after=999999999),
    "connection-reset": Behaviour(_serve("reset"), "reset"),
    "body-shorter-than-declared": Behaviour(_serve("short_body"), "reset"),
    "connection-refused": Behaviour(lambda env: f"http://127.0.0.1:{hostile.closed_port()}/feed.xml", "connect"),
    "tls-to-plain-http-port": Behaviour(_https_to_plain_port, "tls"),
    "tls-self-signed-certificate": Behaviour(_self_signed, "tls", check=_check_tls),
    "dns-failure": Behaviour(lambda env: "http://no-such-feed-host.invalid/feed.xml", "dns"),
}


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    # The gazetteer decompresses its index sections on first lookup, a one-off cost of start-up
    # (bench/startup.py): warmed on the good feeds' items, a measured cycle's peak is its own.
    warm = Classifier.from_settings()
    for body, encoding in GOOD.values():
        if encoding is None:
            for item in parse_feed(body, {}, source="warm-up"):
                warm.classify(item)
    return warm


@pytest.fixture(autouse=True)
def _no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_unresolvable(monkeypatch)


@pytest.fixture(scope="module", autouse=True)
def _prebuilt_bomb() -> None:
    _bomb(64 * MiB)  # the server's cached bomb is built once, outside any measured cycle


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    with FeedServer() as srv:
        e = Env(srv, tmp_path)
        try:
            yield e
        finally:
            for cm in reversed(e.stack):
                cm.__exit__(None, None, None)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _proc_status_kib(field_name: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1])
    raise LookupError(field_name)


def _rss_peak_measurable() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")  # resets VmHWM, the resident set's high-water mark, to the current size
        return _proc_status_kib("VmHWM") > 0
    except OSError:
        return False


def _measured_cycle(deps: Deps, by_rss: bool = False) -> tuple[CycleReport, int]:
    """One cycle and its peak memory: traced Python allocations, or (by_rss) growth of the process's
    resident set (C allocations included; far cheaper than tracemalloc for a 10,000-item parse)."""
    async def cycle() -> CycleReport:
        async with Fetcher(deps.settings.fetch, version="test") as fetcher:
            return await run_cycle(deps, fetcher)

    if by_rss and _rss_peak_measurable():
        before = _proc_status_kib("VmRSS")
        report = asyncio.run(cycle())
        return report, (_proc_status_kib("VmHWM") - before) * 1024
    tracemalloc.start()
    try:
        report = asyncio.run(cycle())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return report, peak


def _expected_wait(b: Behaviour, fetch: FetchSettings, failures: int, rng: random.Random) -> float:
    return next_fetch_delay(failures, interval_s=fetch.default_interval_s, base_s=fetch.backoff_base_s,
                            max_s=fetch.backoff_max_s, retry_after_s=b.retry_after, rng=rng)


def _assert_failing(b: Behaviour, row: FeedRow, failures: int, expected_wait: float, fetch: FetchSettings) -> None:
    assert row.consecutive_failures == failures
    assert row.last_error_kind == b.kind, (row.last_error_kind, row.last_error)
    assert row.last_error and len(row.last_error) <= 500
    assert row.down_since is not None and row.last_success_at is None
    assert row.last_fetch_at is not None
    wait = (row.next_fetch_at - row.last_fetch_at).total_seconds()
    assert abs(wait - expected_wait) <= b.retry_after_slack + 0.01, (wait, expected_wait)
    assert fetch.default_interval_s <= wait <= fetch.backoff_max_s
    if b.retry_after is not None:
        assert wait >= min(b.retry_after, fetch.backoff_max_s) - b.retry_after_slack


def _assert_good(store: Store, rows: dict[str, FeedRow]) -> None:
    for name in GOOD:
        row = rows[name]
        assert row.consecutive_failures == 0 and row.last_error is None and row.last_error_kind is None, name
        assert row.last_status in (200, 304) and row.items_seen == GOOD_ITEMS, name
        assert len(_stored(store, row.id)) == GOOD_ITEMS, name


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(DatabaseSettings(url=f"sqlite:///{tmp_path / 'hostile.db'}"))
    s.upgrade()
    yield s
    s.close()


# Behaviours whose outcome is written differently by the store (URL change, retirement, backoff state,
# deduplication, a large batch): also run on PostgreSQL. The others only exercise fetch and parse.
ON_EVERY_ENGINE = ("301-permanent-move", "410-gone", "429-retry-after-seconds", "duplicate-guids", "10000-items",
                   "xml-external-entity", "connection-reset")


@pytest.mark.parametrize("name", list(BEHAVIOURS))
def test_a_hostile_feed_fails_alone_and_the_cycle_goes_on(name: str, env: Env, sqlite_store: Store,
                                                           classifier: Classifier,
                                                           caplog: pytest.LogCaptureFixture) -> None:
    _two_cycles(name, env, sqlite_store, classifier, caplog)


@pytest.mark.parametrize("name", ON_EVERY_ENGINE)
def test_store_sensitive_behaviours_on_every_engine(name: str, env: Env, store: Store, classifier: Classifier,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    if store.dialect == "sqlite":
        pytest.skip("run on SQLite by test_a_hostile_feed_fails_alone_and_the_cycle_goes_on")
    _two_cycles(name, env, store, classifier, caplog)


def _two_cycles(name: str, env: Env, store: Store, classifier: Classifier, caplog: pytest.LogCaptureFixture) -> None:
    b = BEHAVIOURS[name]
    fetch = replace(FETCH, **b.fetch)
    for feed_name, (body, encoding) in GOOD.items():
        env.srv.set_feed(f"/{feed_name}.xml", body, content_encoding=encoding)
    url = b.install(env)
    feeds = [FeedSettings(name=n, url=env.srv.url(f"/{n}.xml")) for n in GOOD]
    feeds.append(FeedSettings(name="hostile", url=url))
    clock = Clock(START)
    settings = Settings(database=DatabaseSettings(url="unused"), feeds=tuple(feeds), fetch=fetch)
    deps = Deps(settings=settings, store=store, classifier=classifier, owner="hostile-test", clock=clock,
                rng=random.Random(SEED))
    mirror = random.Random(SEED)  # draws what the cycle's backoff draws, in the same order
    store.sync_feeds(feeds, START)
    caplog.set_level(logging.WARNING, logger="monitor")

    reports: list[CycleReport] = []
    peaks: list[int] = []
    hits: list[int] = []

    def cycle() -> CycleReport:
        report, peak = _measured_cycle(deps, b.peak_by_rss)
        reports.append(report)
        peaks.append(peak)
        hits.append(env.srv.hits("/hostile.xml"))
        return report

    report = cycle()
    assert report.feeds == len(feeds)
    assert report.fetched + report.unchanged == len(GOOD) + (b.kind is None)
    assert report.failed == (b.kind is not None)
    rows = {r.name: r for r in store.list_feeds()}
    _assert_good(store, rows)
    first = rows["hostile"]
    if b.kind is not None:
        _assert_failing(b, first, 1, _expected_wait(b, fetch, 1, mirror), fetch)
        assert first.retired_at is None or b.retired
    else:
        assert first.consecutive_failures == 0 and first.last_error_kind is None and first.last_error is None
        assert len(_stored(store, first.id)) == b.items and first.items_seen == b.items

    # Second cycle, when the hostile feed is due again (good feeds are due too: their interval is shorter).
    clock.now = max(first.next_fetch_at, START + timedelta(seconds=fetch.default_interval_s)) + timedelta(seconds=1)
    if b.retired:
        clock.now = START + timedelta(days=30)
    report = cycle()
    rows = {r.name: r for r in store.list_feeds()}
    _assert_good(store, rows)
    second: FeedRow | None = rows["hostile"]
    assert second is not None
    if b.retired:
        assert second.consecutive_failures == 1 and second.retired_at == first.retired_at
        assert second.last_error_kind == b.kind
        second = None
    elif b.kind is not None:
        _assert_failing(b, second, 2, _expected_wait(b, fetch, 2, mirror), fetch)
        assert second.last_fetch_at == clock.now
        assert report.failed == 1
    else:
        assert second.consecutive_failures == 0 and second.last_error_kind is None
        assert len(_stored(store, second.id)) == b.items, "a second poll must not store anything twice"

    crashes = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not crashes, [r.getMessage() for r in crashes]
    if b.kind is not None:
        failed = [r for r in caplog.records if r.getMessage() == "feed_failed"]
        assert [getattr(r, "fields", {}).get("kind") for r in failed] == [b.kind] * (1 if b.retired else 2)
    assert max(peaks) < b.peak, f"peak {max(peaks) / MiB:.1f} MiB over {b.peak / MiB:.0f} MiB"
    if b.check is not None:
        b.check(Outcome(env, store, url, first, second, reports, hits))


def test_there_are_at_least_twenty_behaviours() -> None:
    assert len(BEHAVIOURS) >= 20 and set(ON_EVERY_ENGINE) <= set(BEHAVIOURS)


def test_a_cycle_with_every_hostile_feed_at_once_still_processes_the_good_ones(
        env: Env, store: Store, classifier: Classifier, caplog: pytest.LogCaptureFixture) -> None:
    """All failing behaviours in the same cycle (one per path), so they compete for the same workers."""
    for feed_name, (body, encoding) in GOOD.items():
        env.srv.set_feed(f"/{feed_name}.xml", body, content_encoding=encoding)
    feeds = [FeedSettings(name=n, url=env.srv.url(f"/{n}.xml")) for n in GOOD]
    failing = {n: b for n, b in BEHAVIOURS.items() if b.kind is not None and n != "tls-self-signed-certificate"}
    for n, b in failing.items():
        url = b.install(env)
        path = f"/{n}.xml"
        if url.startswith(env.srv.url("/hostile.xml")):  # move the route to its own path
            route = env.srv._route("/hostile.xml")
            assert route is not None
            env.srv.set_behaviour(path, route.kind, **route.params)
            url = url.replace("/hostile.xml", path)
        elif "/hostile.xml" in url:  # https to the plain port
            env.srv.set_feed(path, make_rss([]))
            url = url.replace("/hostile.xml", path)
        feeds.append(FeedSettings(name=n, url=url))
    # The drip and the hang run into this deadline; thirty hostile feeds at once keep the CPU (and the GIL)
    # busy, so the good feeds get seconds to spare.
    fetch = replace(FETCH, total_timeout_s=8.0)
    settings = Settings(database=DatabaseSettings(url="unused"), feeds=tuple(feeds), fetch=fetch)
    deps = Deps(settings=settings, store=store, classifier=classifier, owner="hostile-test", clock=Clock(START),
                rng=random.Random(SEED))
    store.sync_feeds(feeds, START)
    caplog.set_level(logging.WARNING, logger="monitor")
    report, peak = _measured_cycle(deps)
    assert report.feeds == len(feeds) and report.failed == len(failing) and report.fetched == len(GOOD)
    rows = {r.name: r for r in store.list_feeds()}
    _assert_good(store, rows)
    for n, b in failing.items():
        assert rows[n].last_error_kind == b.kind and rows[n].consecutive_failures == 1, (n, rows[n].last_error)
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert peak < 2 * DEFAULT_PEAK
    with store.read() as conn:
        assert conn.execute(select(func.count()).select_from(articles)).scalar_one() == len(GOOD) * GOOD_ITEMS
