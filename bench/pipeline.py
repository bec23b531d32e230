"""Pipeline throughput: parse -> classify -> store of feed entries, beside feedparser's own rate.

    python -m bench.pipeline [--db sqlite|postgresql] [--generated [--feeds 40] [--items 50]]

Reads the snapshot feeds' real bytes (every poll of every outlet, bench/real_text.py) when they are
there; with --generated, or without them, generates `feeds` RSS documents of `items` entries each (a mix
of conflict reports and ordinary news). Then measures in the same run:
  1. feedparser.parse on the bytes (the baseline),
  2. monitor.parse.parse_feed (feedparser + cleaning + canonical URLs),
  3. the full pipeline: parse -> classify -> group -> store -> outbox, one transaction per feed,
and prints entries/s of each and the ratio of 3 to 1, plus the pipeline's peak RSS growth (and, with
--trace-memory, the tracemalloc peak, which slows the run).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import secrets
import subprocess
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import feedparser

from bench.real_text import snapshots
from monitor.feeds.parse import parse_feed
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, Settings
from monitor.store import Store

PLACES = [("Donetsk", "Ukraine"), ("Kharkiv", "Ukraine"), ("Jermuk", "Armenia"), ("Khartoum", "Sudan"),
          ("Aleppo", "Syria"), ("Kherson", "Ukraine"), ("Tyre", "Lebanon"), ("Goma", "DR Congo")]
EVENTS = ["Shelling kills {n} in {p}", "Air strike on {p} kills {n}", "Clashes erupt near {p}, {n} dead",
          "Drone attack hits {p}", "Ceasefire violated as mortar fire hits {p}"]
OTHER = ["Central bank holds rates steady", "Storm brings flooding to coastal towns", "Parliament passes budget",
         "Tech company unveils new phone", "Football: derby ends in a draw", "Museum reopens after renovation"]


def make_feed(i: int, items: int, rng: random.Random, start: datetime,
              places: Sequence[tuple[str, str]] = PLACES) -> bytes:
    """Outlet `i`'s RSS feed: 30% of its items report a conflict event at one of `places`."""
    parts = ['<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>',
             f"<title>Outlet {i}</title><link>https://outlet{i}.example/</link><description>x</description>"]
    for j in range(items):
        when = start - timedelta(minutes=rng.randrange(0, 3000))
        if rng.random() < 0.3:
            place, country = rng.choice(places)
            title = rng.choice(EVENTS).format(n=rng.randrange(1, 40), p=place)
            desc = f"{title}, {country}. Officials said artillery and drones were used overnight; " \
                   f"{rng.randrange(1, 20)} people were injured."
        else:
            title = rng.choice(OTHER)
            desc = f"{title}. " + " ".join(rng.choice(OTHER) for _ in range(3))
        parts.append(f"<item><title>{escape(title)}</title><link>https://outlet{i}.example/{j}?utm_source=rss"
                     f"</link><guid>o{i}-{j}</guid><pubDate>{when.strftime('%a, %d %b %Y %H:%M:%S +0000')}"
                     f"</pubDate><description>{escape(desc)}</description></item>")
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def _database(kind: str, tmp: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}"
    import psycopg

    # Unique per process: benches of several worktrees share the server, and may start in the same second.
    name = f"cfm_bench_{int(time.time())}_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--feeds", type=int, default=40)
    ap.add_argument("--items", type=int, default=50)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--trace-memory", action="store_true", help="tracemalloc peak (slows the run)")
    ap.add_argument("--generated", action="store_true", help="generated feeds even when the snapshot feeds are there")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    now = datetime.now(UTC)
    polls = [] if args.generated else snapshots()
    if polls:  # the real bytes: every poll of every snapshot outlet, as fetched (RSS, Atom, windows-1251)
        bodies = [p.body for p in polls]
        heads = [p.headers for p in polls]
        total = sum(len(feedparser.parse(b, response_headers=h).entries) for b, h in zip(bodies, heads, strict=True))
        print(f"snapshot feeds: {len(polls)} polls of {len({p.outlet for p in polls})} outlets (real bytes)")
    else:
        bodies = [make_feed(i, args.items, rng, now) for i in range(args.feeds)]
        heads = [{"content-type": "application/rss+xml; charset=utf-8"}] * len(bodies)
        total = args.feeds * args.items
        print("generated feeds" + ("" if args.generated else " (snapshot feeds not found)"))

    t = time.perf_counter()
    for body, headers in zip(bodies, heads, strict=True):
        feedparser.parse(body, response_headers=headers)
    base = total / (time.perf_counter() - t)

    t = time.perf_counter()
    for i, (body, headers) in enumerate(zip(bodies, heads, strict=True)):
        parse_feed(body, headers, source=f"Outlet {i}", url=f"https://outlet{i}.example/feed")
    parse_rate = total / (time.perf_counter() - t)

    with tempfile.TemporaryDirectory() as tmp:
        url = _database(args.db, Path(tmp))
        store = Store.open(DatabaseSettings(url=url))
        store.upgrade()
        t_load = time.perf_counter()
        classifier = Classifier.from_settings()
        load_s = time.perf_counter() - t_load
        deps = Deps(settings=Settings(database=DatabaseSettings(url=url)), store=store, classifier=classifier,
                    owner="bench")
        if args.trace_memory:
            tracemalloc.start()  # exact Python allocations, at the cost of a much slower run
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        t = time.perf_counter()
        relevant = incidents = 0
        for i, (body, headers) in enumerate(zip(bodies, heads, strict=True)):
            items = parse_feed(body, headers, source=f"Outlet {i}", url=f"https://outlet{i}.example/feed")
            report = process_items(items, deps)
            relevant += report.relevant
            incidents += report.incidents_created
        pipe_s = time.perf_counter() - t
        rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 - rss0
        peak = tracemalloc.get_traced_memory()[1] if args.trace_memory else 0
        tracemalloc.stop()
        stored = store.article_count()
        store.close()
    pipe = total / pipe_s
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    print(f"commit {commit}  python {platform.python_version()}  {platform.machine()}  db {args.db}")
    print(f"entries: {total} in {len(bodies)} feeds; stored {stored}; relevant {relevant}; incidents {incidents}")
    print(f"feedparser.parse (baseline) : {base:10.0f} entries/s")
    print(f"parse_feed                  : {parse_rate:10.0f} entries/s   ratio {parse_rate / base:.2f}")
    print(f"parse+classify+store        : {pipe:10.0f} entries/s   ratio {pipe / base:.2f}")
    print(f"classifier load             : {load_s:.2f} s")
    print(f"peak RSS growth (pipeline)  : {rss_growth:.1f} MB")
    if args.trace_memory:
        print(f"peak traced Python memory   : {peak / 1e6:.1f} MB (timings above are slowed by tracing)")


if __name__ == "__main__":
    main()
