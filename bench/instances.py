"""Several instances on one PostgreSQL: total throughput of a cold poll of every feed, and proof from the feed
server's request log that no feed was polled twice.

    python -m bench.instances [--feeds 600] [--items 20] [--instances 3] [--concurrency 16] [--batch 32]
                              [--serialise-saves] [--regional]

Serves `feeds` generated RSS feeds (bench.pipeline.make_feed) from a local HTTP server (tests/feed_server.py)
and runs, in the same run, each on a fresh PostgreSQL database:
  1. one instance, then
  2. `instances` instances at once,
each instance a separate process looping `run_cycle` (claim up to `batch` due feeds with leases - FOR UPDATE
SKIP LOCKED - then fetch, parse, classify and store them; what the daemon's tick does) until nothing is due.
The wall time runs from the moment all instances are ready (classifier loaded) until the last one finishes.
Each instance fetches with its own User-Agent, so the server's request log says who polled what.
With --regional each feed reports on one country only (24 countries, as regional outlets do) instead of
bench.pipeline's mix, where nearly every feed reports on all of 6 countries in the same two days.
Saves lock the grouping buckets they touch (monitor/store/locks.py); --serialise-saves adds the one global
save lock of before (Store.serialise_saves), to compare. Printed besides: transactions retried after a
deadlock, and what the database sessions waited on (bench.pg_waits).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Event
from pathlib import Path

from sqlalchemy import func, select

from bench.pg_waits import WaitSampler
from bench.pipeline import make_feed
from monitor.feeds.fetch import Fetcher
from monitor.logs import configure
from monitor.pipeline import Deps, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, FeedSettings, FetchSettings, Settings
from monitor.store import Store
from monitor.store.schema import incidents

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from feed_server import FeedServer

# One place per country: the feeds of --regional report on one of these each.
REGIONAL = [("Mogadishu", "Somalia"), ("Kabul", "Afghanistan"), ("Sanaa", "Yemen"), ("Tripoli", "Libya"),
            ("Bamako", "Mali"), ("Juba", "South Sudan"), ("Baghdad", "Iraq"), ("Mekele", "Ethiopia"),
            ("Yangon", "Myanmar"), ("Port-au-Prince", "Haiti"), ("Niamey", "Niger"), ("Ouagadougou", "Burkina Faso"),
            ("Maiduguri", "Nigeria"), ("Bangui", "Central African Republic"), ("Donetsk", "Ukraine"),
            ("Jermuk", "Armenia"), ("Khartoum", "Sudan"), ("Aleppo", "Syria"), ("Tyre", "Lebanon"),
            ("Goma", "DR Congo"), ("Gaza City", "Palestine"), ("Peshawar", "Pakistan"), ("Cali", "Colombia"),
            ("Bujumbura", "Burundi")]
ADMIN = os.environ.get("MONITOR_BENCH_POSTGRES", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")


@dataclass
class WorkerResult:
    owner: str
    wall_s: float
    cpu_s: float
    cycles: int
    feeds: int
    failed: int
    new: int
    retries: dict[str, int]  # transactions run again after a deadlock/serialization failure (Store.retries)


def make_regional_feed(i: int, items: int, rng: random.Random, start: datetime) -> bytes:
    """A feed like bench.pipeline.make_feed whose conflict reports are all about one place (REGIONAL)."""
    return make_feed(i, items, rng, start, places=[REGIONAL[i % len(REGIONAL)]])


def _worker(owner: str, url: str, concurrency: int, batch: int, serialise: bool, go: Event,
            out: Queue[object]) -> None:
    """One instance: its own engine, classifier and HTTP client; loops run_cycle until nothing is due."""
    configure("WARNING")  # failed polls are printed with their kind; the rest would drown the figures
    fetch = FetchSettings(concurrency=concurrency, per_host_concurrency=concurrency, lease_s=3600,
                          user_agent=f"{owner}/{{version}}")
    settings = Settings(database=DatabaseSettings(url=url), fetch=fetch)
    store = Store.open(settings.database)
    store.serialise_saves = serialise
    deps = Deps(settings=settings, store=store, classifier=Classifier.from_settings(), owner=owner)
    out.put(("ready", owner))
    go.wait()
    wall, cpu = time.perf_counter(), time.process_time()
    result = WorkerResult(owner, 0.0, 0.0, 0, 0, 0, 0, {})

    async def loop() -> None:
        async with Fetcher(fetch, version="bench") as fetcher:
            while True:
                report = await run_cycle(deps, fetcher, limit=batch)
                if report.feeds == 0:  # nothing due that no other instance holds
                    return
                result.cycles += 1
                result.feeds += report.feeds
                result.failed += report.failed
                result.new += report.saved.new

    asyncio.run(loop())
    result.wall_s, result.cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    result.retries = dict(store.retries)
    store.close()
    out.put(("done", result))


def _create_db() -> tuple[str, str]:
    import psycopg

    name = f"cfm_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        host, port = conn.info.host, conn.info.port
    return name, f"postgresql+psycopg://postgres@{host}:{port}/{name}"


def _drop_db(name: str) -> None:
    import psycopg

    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class RunResult:
    instances: int
    wall_s: float
    workers: list[WorkerResult]
    polls_per_feed: Counter[int]  # number of GETs -> number of feeds
    polls_by_instance: Counter[str]
    articles: int
    incidents: int  # live ones (not merged away); varies a little with the order the saves ran in
    waits: str  # what the database sessions waited on (bench.pg_waits)


def _run(n: int, bodies: dict[str, bytes], args: argparse.Namespace) -> RunResult:
    name, url = _create_db()
    try:
        with FeedServer() as srv:
            for path, body in bodies.items():
                srv.set_feed(path, body)
            feeds = tuple(FeedSettings(name=f"feed {path}", url=srv.url(path), interval_s=3600) for path in bodies)
            store = Store.open(DatabaseSettings(url=url))
            store.upgrade()
            store.sync_feeds(feeds, datetime.now(UTC))
            ctx = mp.get_context("spawn")  # the parent runs server threads: never fork it
            go, out = ctx.Event(), ctx.Queue()
            procs = [ctx.Process(target=_worker, args=(f"instance-{chr(97 + i)}", url, args.concurrency,
                                                       args.batch, args.serialise_saves, go, out)) for i in range(n)]
            for p in procs:
                p.start()
            for _ in procs:
                kind, _owner = out.get(timeout=120)
                assert kind == "ready"
            with WaitSampler(ADMIN, name) as sampler:
                started = time.perf_counter()
                go.set()
                workers = []
                for _ in procs:
                    kind, result = out.get(timeout=3600)
                    assert kind == "done" and isinstance(result, WorkerResult)
                    workers.append(result)
                wall = time.perf_counter() - started
            for p in procs:
                p.join(30)
            requests = srv.requests
            articles = store.article_count()
            with store.read() as conn:
                live = conn.execute(select(func.count()).select_from(incidents).where(
                    incidents.c.merged_into.is_(None))).scalar_one()
            store.close()
    finally:
        _drop_db(name)
    per_path = Counter(r.path for r in requests if r.method == "GET")
    by_instance = Counter(r.headers.get("user-agent", "?").split("/")[0] for r in requests)
    return RunResult(n, wall, sorted(workers, key=lambda w: w.owner), Counter(per_path.values()), by_instance,
                     articles, live, sampler.summary())


def _line(label: str, r: RunResult, total: int, base: RunResult | None) -> str:
    cpu = sum(w.cpu_s for w in r.workers)
    failed = sum(w.failed for w in r.workers)
    retries: Counter[str] = Counter()
    for w in r.workers:
        retries.update(w.retries)
    speed = f"  x{base.wall_s / r.wall_s:.2f} vs 1 instance" if base else ""
    twice = sum(feeds for polls, feeds in r.polls_per_feed.items() if polls > 1)
    return (f"{label}: wall {r.wall_s:7.2f} s  {total / r.wall_s:7.0f} entries/s{speed}  cpu (instances) {cpu:6.1f} s  "
            f"articles stored {r.articles}  incidents {r.incidents}  failed polls {failed}  "
            f"db retries {dict(sorted(retries.items()))}\n"
            f"    feeds by number of GETs {dict(sorted(r.polls_per_feed.items()))}  -> polled twice: {twice}\n"
            f"    GETs by instance {dict(sorted(r.polls_by_instance.items()))}  cycles "
            f"{ {w.owner: w.cycles for w in r.workers} }\n"
            f"    database {r.waits}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=600)
    ap.add_argument("--items", type=int, default=20)
    ap.add_argument("--instances", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16, help="fetches in flight per instance")
    ap.add_argument("--batch", type=int, default=32, help="feeds claimed per cycle by an instance")
    ap.add_argument("--serialise-saves", action="store_true", help="one save at a time (the global lock of before)")
    ap.add_argument("--regional", action="store_true", help="each feed reports on one of 24 countries")
    args = ap.parse_args()
    rng = random.Random(11)
    now = datetime.now(UTC)
    make = make_regional_feed if args.regional else make_feed
    bodies = {f"/f{i}.xml": make(i, args.items, rng, now) for i in range(args.feeds)}
    total = args.feeds * args.items
    single = _run(1, bodies, args)
    several = _run(args.instances, bodies, args)
    locking = "one global save lock" if args.serialise_saves else "grouping bucket locks"
    locking += ", regional feeds" if args.regional else ""
    print(f"db postgresql, {locking}; {args.feeds} feeds x {args.items} items = {total} entries; per instance: "
          f"concurrency {args.concurrency}, claim batch {args.batch}; {os.cpu_count()} CPUs shared by the instances, "
          f"the feed server and PostgreSQL")
    print(_line("1 instance ", single, total, None))
    print(_line(f"{args.instances} instances", several, total, single))
    ok = all(set(r.polls_per_feed) == {1} and sum(r.polls_per_feed.values()) == args.feeds and r.articles == total
             for r in (single, several))
    print("every feed polled exactly once, every entry stored once: " + ("yes" if ok else "NO"))
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()
