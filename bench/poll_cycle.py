"""A poll cycle at scale over loopback: cold (all new), then warm (95% unchanged).

    python -m bench.poll_cycle [--feeds 1000] [--items 50] [--db sqlite|postgresql] [--changed 0.05]
                               [--concurrency 32] [--serialise-saves]

Serves `feeds` generated RSS feeds from a local HTTP server (tests/feed_server.py), then measures:
  cold  - the first cycle, every entry new: wall, CPU, peak RSS growth, entries/s beside feedparser's parse
          rate of the same bytes (measured in the same run);
  warm  - the next cycle with `changed` of the feeds carrying one new item and the rest answering 304:
          wall and CPU beside the bare HTTP round trips (conditional GETs of every feed with httpx at the
          same concurrency, measured in the same run).
On PostgreSQL, saves lock the grouping buckets they touch (monitor/store/locks.py); --serialise-saves adds the
one global save lock of before (Store.serialise_saves), to compare. Printed besides: transactions retried after
a deadlock, and what the database sessions waited on during the cold cycle (bench.pg_waits).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import resource
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import feedparser
import httpx

from bench.pg_waits import WaitSampler
from bench.pipeline import _database, make_feed
from monitor.feeds.fetch import Fetcher
from monitor.pipeline import Deps, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, FeedSettings, FetchSettings, Settings
from monitor.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from feed_server import FeedServer

ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"  # as bench.pipeline._database


def _drop(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _round_trips(urls: list[str], etags: dict[str, str], concurrency: int) -> float:
    sem = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(limits=httpx.Limits(max_connections=concurrency)) as client:
        async def one(url: str) -> None:
            async with sem:
                await client.get(url, headers={"If-None-Match": etags.get(url, "")})

        t = time.perf_counter()
        await asyncio.gather(*(one(u) for u in urls))
        return time.perf_counter() - t


async def _timed_cycle(deps: Deps) -> tuple[float, float, object]:
    async with Fetcher(deps.settings.fetch, version="bench") as fetcher:
        wall, cpu = time.perf_counter(), time.process_time()
        report = await run_cycle(deps, fetcher, limit=100_000)
        return time.perf_counter() - wall, time.process_time() - cpu, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=1000)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--changed", type=float, default=0.05)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--serialise-saves", action="store_true", help="one save at a time (the global lock of before)")
    args = ap.parse_args()
    rng = random.Random(11)
    now = datetime.now(UTC)
    bodies = {f"/f{i}.xml": make_feed(i, args.items, rng, now) for i in range(args.feeds)}
    total = args.feeds * args.items
    headers = {"content-type": "application/rss+xml; charset=utf-8"}
    t = time.perf_counter()
    for body in bodies.values():
        feedparser.parse(body, response_headers=headers)
    parse_rate = total / (time.perf_counter() - t)

    with FeedServer() as srv, tempfile.TemporaryDirectory() as tmp:
        for path, body in bodies.items():
            srv.set_feed(path, body)
        feeds = tuple(FeedSettings(name=f"feed {path}", url=srv.url(path), interval_s=60) for path in bodies)
        url = _database(args.db, Path(tmp))
        store = Store.open(DatabaseSettings(url=url))
        store.serialise_saves = args.serialise_saves
        store.upgrade()
        fetch = FetchSettings(concurrency=args.concurrency, per_host_concurrency=args.concurrency, lease_s=3600)
        settings = Settings(database=DatabaseSettings(url=url), feeds=feeds, fetch=fetch)
        clock_now = [now]
        deps = Deps(settings=settings, store=store, classifier=Classifier.from_settings(), owner="bench",
                    clock=lambda: clock_now[0])
        store.sync_feeds(feeds, now)
        rss0 = _rss_mb()
        sampler = WaitSampler(ADMIN, url.rsplit("/", 1)[1]) if args.db == "postgresql" else None
        if sampler:
            with sampler:
                cold_wall, cold_cpu, cold = asyncio.run(_timed_cycle(deps))
        else:
            cold_wall, cold_cpu, cold = asyncio.run(_timed_cycle(deps))
        rss1 = _rss_mb()

        changed = rng.sample(sorted(bodies), int(args.feeds * args.changed))
        for j, path in enumerate(changed):  # one new item on top, the rest as before (as real feeds change)
            fresh = make_feed(100_000 + j, 1, rng, now)
            item = fresh[fresh.index(b"<item>"):fresh.index(b"</channel>")]
            head, sep, tail = bodies[path].partition(b"<item>")
            srv.set_feed(path, head + item + sep + tail)
        clock_now[0] = now + timedelta(minutes=2)
        warm_wall, warm_cpu, warm = asyncio.run(_timed_cycle(deps))
        rss2 = _rss_mb()
        etags = {f.url: f.etag or "" for f in store.list_feeds()}
        rt = asyncio.run(_round_trips([f.url for f in feeds], etags, args.concurrency))
        store.close()
        if args.db == "postgresql":
            _drop(url.rsplit("/", 1)[1])

    locking = ", one global save lock" if args.serialise_saves and args.db == "postgresql" else ""
    print(f"db {args.db}{locking}; {args.feeds} feeds x {args.items} items = {total} entries; "
          f"concurrency {args.concurrency}")
    print(f"feedparser.parse baseline : {parse_rate:8.0f} entries/s")
    print(f"cold cycle : wall {cold_wall:7.2f} s  cpu {cold_cpu:7.2f} s  {total / cold_wall:8.0f} entries/s  "
          f"ratio to feedparser {total / cold_wall / parse_rate:.2f}  peak RSS +{rss1 - rss0:.0f} MB  "
          f"({cold.fetched} fetched, {cold.saved.new} new, {cold.failed} failed)")  # type: ignore[attr-defined]
    print(f"warm cycle : wall {warm_wall:7.2f} s  cpu {warm_cpu:7.2f} s  ({warm.unchanged} unchanged, "  # type: ignore[attr-defined]
          f"{warm.fetched} fetched, {warm.saved.new} new)  peak RSS +{max(0.0, rss2 - rss1):.0f} MB")  # type: ignore[attr-defined]
    print(f"db retries (deadlock/serialization/disconnect): {dict(sorted(store.retries.items()))}")
    if sampler:
        print(f"cold cycle database {sampler.summary()}")
    print(f"bare HTTP round trips (conditional GET x {args.feeds}): {rt:.2f} s;  "
          f"warm/round-trips = {warm_wall / rt:.2f}")


if __name__ == "__main__":
    main()
