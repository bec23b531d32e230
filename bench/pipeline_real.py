"""The whole pipeline on REAL feed bytes, beside feedparser's parse rate of the same bytes, in one run.

    python -m bench.pipeline_real [--db sqlite|postgresql] [--repeat 3] [--feeds 1000] [--concurrency 32]
                                  [--profile FILE.prof]

Workload (read from ../shared/eval when it is there; nothing is generated):
  - every poll file of ../shared/eval/feeds/snapshots/ (several outlets, RSS and Atom, windows-1251 too)
    served as its own feed, so later polls repeat earlier items as real feeds do;
  - the texts of ../shared/eval/dev.jsonl as RSS feeds of 25 items (real text in a plain wrapper).
All of it is served by a loopback HTTP server (tests/feed_server.py) and polled as the daemon does
(monitor.pipeline.run_cycle -> poll_feed of each feed: fetch, parse, classify, group, store, outbox) into a
fresh database per run. Printed, all measured in this run:
  feedparser    feedparser.parse of the same bodies (best of --repeat): the baseline;
  pipeline      one cold cycle over those feeds (median of --repeat, fresh database each): items/s and ratio;
  serial split  the same work feed by feed in one thread: share of parse, classify and store (wall), and
                the CPU time per entry of each (group+store also as a multiple of feedparser's CPU per entry);
  1,000 feeds   the bodies replicated under --feeds URLs: a cold cycle, then a warm one (unchanged bodies:
                304 / hash skip), then a changed one (each body with one new made-up entry above the
                others, as a live feed's next poll), wall and CPU;
  peak RSS      of this process (the daemon's work: classifier, fetcher, store).
--profile writes a cProfile of the serial run (threads of the cycle are not profiled by cProfile).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import platform
import pstats
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import feedparser

from bench.pipeline import _database
from monitor.feeds.fetch import Fetcher
from monitor.feeds.parse import parse_feed
from monitor.pipeline import CycleReport, Deps, classify_items, render_alert, run_cycle
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, FeedSettings, FetchSettings, Settings
from monitor.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from feed_server import ATOM_TYPE, FeedServer, make_rss

ROOT = Path(__file__).resolve().parent.parent

EVAL = ROOT.parent / "shared" / "eval"
ADMIN = "host=127.0.0.1 user=postgres dbname=postgres"
PER_DEV_FEED = 25


@dataclass(frozen=True)
class Body:
    name: str
    data: bytes
    content_type: str
    language: str | None
    entries: int


def snapshot_bodies(folder: Path) -> list[Body]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    out = []
    for outlet in manifest["outlets"]:
        ctype = ATOM_TYPE if outlet["format"] == "atom" else "application/rss+xml"  # charset: the XML declares it
        for poll in outlet["polls"]:
            data = (folder / outlet["folder"] / poll["file"]).read_bytes()
            out.append(Body(f"{outlet['name']} {poll['file']}", data, ctype, None, int(poll["items"])))
    return out


def dev_bodies(path: Path) -> list[Body]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    out = []
    for lo in range(0, len(rows), PER_DEV_FEED):
        chunk = rows[lo:lo + PER_DEV_FEED]
        items = [{"title": r.get("title") or "", "description": r.get("text") or "", "guid": r["id"],
                  "link": r.get("url") or f"https://dev.example.net/{r['id']}",
                  **({"pub_date": datetime.fromisoformat(r["published"].replace("Z", "+00:00"))}
                     if r.get("published") else {})} for r in chunk]
        out.append(Body(f"dev texts {lo // PER_DEV_FEED}", make_rss(items, title="dev texts", language=None),
                        "application/rss+xml; charset=utf-8", None, len(chunk)))
    return out


def feedparser_pass(bodies: list[Body]) -> tuple[float, float]:
    """Wall and CPU seconds of feedparser.parse over the bodies."""
    wall, cpu = time.perf_counter(), time.process_time()
    for b in bodies:
        feedparser.parse(b.data, response_headers={"content-type": b.content_type})
    return time.perf_counter() - wall, time.process_time() - cpu


_FIRST_ENTRY = re.compile(rb"<(item|entry)[\s>]")


def with_new_entry(data: bytes, i: int) -> bytes:
    """The body with one made-up entry (not news: classified without a label) before its first one."""
    first = _FIRST_ENTRY.search(data)
    assert first is not None
    if first.group(1) == b"item":
        new = (f"<item><title>Bulletin {i} of the bench</title><link>https://bench.example.net/new/{i}</link>"
               f"<guid>bench-new-{i}</guid><description>Opening hours of the library, week {i}.</description></item>")
    else:
        new = (f"<entry><title>Bulletin {i} of the bench</title><id>urn:bench:new:{i}</id>"
               f'<link href="https://bench.example.net/new/{i}"/><updated>2024-01-01T00:00:00Z</updated>'
               f"<summary>Opening hours of the library, week {i}.</summary></entry>")
    return data[:first.start()] + new.encode() + data[first.start():]


def warm_up(classifier: Classifier, bodies: list[Body]) -> None:
    """Classify one body's items untimed: the classifier compiles some patterns on first use (a second or
    two), which a long-running daemon pays once; without this the first timed cycle paid it."""
    for b in bodies[-3:]:
        for item in parse_feed(b.data, {"content-type": b.content_type}, source="warm-up"):
            classifier.classify(item)


class Run:
    """A fresh database with `store` open; dropped (PostgreSQL) or deleted with its folder on close."""

    def __init__(self, kind: str, classifier: Classifier, feeds: tuple[FeedSettings, ...], concurrency: int,
                 now: datetime) -> None:
        self.kind = kind
        self.tmp = tempfile.TemporaryDirectory()
        self.url = _database(kind, Path(self.tmp.name))
        self.store = Store.open(DatabaseSettings(url=self.url))
        self.store.upgrade()
        fetch = FetchSettings(concurrency=concurrency, per_host_concurrency=concurrency, lease_s=3600)
        self.clock = [now]
        settings = Settings(database=DatabaseSettings(url=self.url), feeds=feeds, fetch=fetch)
        self.deps = Deps(settings=settings, store=self.store, classifier=classifier, owner="bench",
                         clock=lambda: self.clock[0])
        self.store.sync_feeds(feeds, now)

    def cycle(self) -> tuple[float, float, CycleReport]:
        async def go() -> tuple[float, float, CycleReport]:
            async with Fetcher(self.deps.settings.fetch, version="bench") as fetcher:
                wall, cpu = time.perf_counter(), time.process_time()
                report = await run_cycle(self.deps, fetcher, limit=100_000)
                return time.perf_counter() - wall, time.process_time() - cpu, report
        return asyncio.run(go())

    def close(self) -> None:
        self.store.close()
        if self.kind == "postgresql":
            import psycopg

            with psycopg.connect(ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{self.url.rsplit("/", 1)[1]}" WITH (FORCE)')
        self.tmp.cleanup()


def serve(srv: Any, bodies: list[Body], copies: int) -> tuple[FeedSettings, ...]:
    feeds = []
    for i in range(copies):
        b = bodies[i % len(bodies)]
        path = f"/f{i}.xml"
        srv.set_feed(path, b.data, b.content_type)
        feeds.append(FeedSettings(name=b.name if copies == len(bodies) else f"{b.name} #{i}", url=srv.url(path),
                                  interval_s=60, language=b.language))
    return tuple(feeds)


def serial_split(bodies: list[Body], kind: str, classifier: Classifier, now: datetime,
                 profile: str | None) -> dict[str, float]:
    """The cycle's work feed by feed in this thread (no fetch): wall seconds in parse, classify and the rest
    (group+store), and the CPU seconds of each (`cpu_*`, time.process_time of this process)."""
    run = Run(kind, classifier, (), 1, now)
    try:
        deps = run.deps
        wall = {"parse": 0.0, "classify": 0.0, "store": 0.0}
        cpu = dict.fromkeys(wall, 0.0)
        prof = cProfile.Profile() if profile else None

        def clocks() -> tuple[float, float]:
            return time.perf_counter(), time.process_time()

        if prof:
            prof.enable()
        for b in bodies:
            t = clocks()
            items = parse_feed(b.data, {"content-type": b.content_type}, source=b.name, url=f"https://x/{b.name}")
            t2 = clocks()
            drafts = classify_items(items, deps, now)
            t3 = clocks()
            run.store.save_feed_items(None, deps.owner, drafts, None, alerts=deps.settings.alerts,
                                      ceasefires=deps.settings.ceasefires, render=render_alert, now=now)
            t4 = clocks()
            for stage, (a, z) in {"parse": (t, t2), "classify": (t2, t3), "store": (t3, t4)}.items():
                wall[stage] += z[0] - a[0]
                cpu[stage] += z[1] - a[1]
        if prof:
            prof.disable()
            prof.dump_stats(profile)  # type: ignore[arg-type]
    finally:
        run.close()
    return {"total": sum(wall.values()), **wall, "cpu_total": sum(cpu.values()),
            **{f"cpu_{k}": v for k, v in cpu.items()}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--feeds", type=int, default=1000, help="URLs of the replicated cycle (0: skip it)")
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--profile", help="write a cProfile of the serial run to this file")
    ap.add_argument("--eval", type=Path, default=EVAL)
    args = ap.parse_args()
    snap, dev = args.eval / "feeds" / "snapshots", args.eval / "dev.jsonl"
    if not snap.is_dir() or not dev.is_file():
        sys.exit(f"error: real feed bytes not found under {args.eval} (snapshots/ and dev.jsonl)")
    bodies = snapshot_bodies(snap) + dev_bodies(dev)
    total = sum(b.entries for b in bodies)
    now = datetime.now(UTC)
    t = time.perf_counter()
    classifier = Classifier.from_settings()
    load_s = time.perf_counter() - t
    feedparser_pass(bodies)  # warm-up
    warm_up(classifier, bodies)
    walls, cpus, reads, fp_walls, fp_cpus = [], [], [], [], []
    with FeedServer() as srv:
        feeds = serve(srv, bodies, len(bodies))
        for _ in range(args.repeat):  # each cycle right after its own baseline: load on the machine varies
            fp_wall, fp_cpu = feedparser_pass(bodies)
            run = Run(args.db, classifier, feeds, args.concurrency, now)
            try:
                wall, cpu, report = run.cycle()
            finally:
                run.close()
            if report.failed:
                sys.exit(f"error: {report.failed} feeds failed in the cycle")
            walls.append(wall)
            cpus.append(cpu)
            fp_walls.append(fp_wall)
            fp_cpus.append(fp_cpu)
            reads.append(report.saved.read)
            # getattr: the same bench runs on commits before these counters existed (same-run comparisons)
            classified = getattr(getattr(run.deps, "memo", None), "computed", None)
        base_wall, base_cpu = feedparser_pass(bodies)
        stored_new, relevant = report.saved.new, report.saved.relevant
        split = serial_split(bodies, args.db, classifier, now, args.profile)
        big = None
        if args.feeds:
            big_feeds = serve(srv, bodies, args.feeds)
            big_entries = sum(bodies[i % len(bodies)].entries for i in range(args.feeds))
            run = Run(args.db, classifier, big_feeds, args.concurrency, now)
            big_base = min(feedparser_pass(bodies)[0] for _ in range(2)) * big_entries / total
            try:
                cold = run.cycle()
                run.clock[0] = now + timedelta(minutes=2)
                warm = run.cycle()
                for i in range(args.feeds):  # the next poll of a live feed: one new entry above the known ones
                    b = bodies[i % len(bodies)]
                    srv.set_feed(f"/f{i}.xml", with_new_entry(b.data, i), b.content_type)
                run.clock[0] = now + timedelta(minutes=4)
                changed = run.cycle()
            finally:
                run.close()
            big = (big_entries, big_base, cold, warm, changed)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                            cwd=ROOT).stdout.strip()
    base = total / statistics.median(fp_walls)
    rate = total / statistics.median(walls)
    ratios = sorted(f / w for f, w in zip(fp_walls, walls, strict=True))
    cpu_ratios = sorted(f / c for f, c in zip(fp_cpus, cpus, strict=True))
    print(f"commit {commit}  python {platform.python_version()}  db {args.db}  concurrency {args.concurrency}")
    print(f"real bytes: {len(bodies)} feeds ({len(bodies) - len(dev_bodies(dev))} snapshot polls, dev.jsonl texts "
          f"in feeds of {PER_DEV_FEED}), {total} entries, {sum(len(b.data) for b in bodies) / 1e6:.2f} MB; "
          f"stored new {stored_new}, relevant {relevant}; read by store {reads[-1]}; classified "
          f"{classified if classified is not None else 'all unstored'} in the last cycle")
    print(f"feedparser.parse (baseline): {base:8.0f} entries/s  (median of {len(fp_walls)} passes, each just before "
          f"a cycle; {total / base_wall:.0f}/s after them; cpu {total / statistics.median(fp_cpus):.0f}/s)")
    print(f"pipeline cold cycle        : {rate:8.0f} entries/s   ratio {statistics.median(ratios):.3f} "
          f"(median of per-pair ratios {[round(r, 3) for r in ratios]})")
    print(f"                             by CPU time: {total / statistics.median(cpus):.0f} entries/s of CPU, "
          f"ratio {statistics.median(cpu_ratios):.3f} {[round(r, 3) for r in cpu_ratios]}")
    s = split
    print(f"serial, one thread         : {total / s['total']:8.0f} entries/s   ratio {total / s['total'] / base:.3f}  "
          f"parse {s['parse'] / s['total']:.0%}  classify {s['classify'] / s['total']:.0%}  "
          f"group+store {s['store'] / s['total']:.0%}  ({s['total']:.2f} s)")
    fp_cpu_entry = statistics.median(fp_cpus) / total
    print(f"serial CPU per entry       : parse {s['cpu_parse'] / total * 1e3:.2f} ms  classify "
          f"{s['cpu_classify'] / total * 1e3:.2f} ms  group+store {s['cpu_store'] / total * 1e3:.2f} ms "
          f"(= {s['cpu_store'] / total / fp_cpu_entry:.2f} x feedparser's CPU per entry)  split "
          f"{s['cpu_parse'] / s['cpu_total']:.0%} / {s['cpu_classify'] / s['cpu_total']:.0%} / "
          f"{s['cpu_store'] / s['cpu_total']:.0%}" + ("  [profiled]" if args.profile else ""))
    if big:
        n, nb, (cw, cc, cr), (ww, wc, wr), (hw, hc, hr) = big
        print(f"{args.feeds} feeds, cold      : wall {cw:6.2f} s  cpu {cc:6.2f} s  {n / cw:8.0f} entries/s  "
              f"ratio {nb / cw:.3f} to feedparser on the same bytes (x{n / total:.1f} of the bodies, "
              f"timed just before)  ({cr.fetched} fetched, {cr.saved.new} new, {cr.saved.read} read, "
              f"{cr.failed} failed)")
        print(f"{args.feeds} feeds, warm      : wall {ww:6.2f} s  cpu {wc:6.2f} s  ({wr.unchanged} unchanged, "
              f"{wr.fetched} fetched, {wr.failed} failed)")
        print(f"{args.feeds} feeds, changed   : wall {hw:6.2f} s  cpu {hc:6.2f} s  {n / hw:8.0f} entries/s  (each body "
              f"with one new entry above the stored ones: {hr.fetched} fetched, {hr.saved.new} new, "
              f"{hr.saved.read} read, {hr.failed} failed)")
    print(f"classifier load {load_s:.2f} s; peak RSS of the process {rss:.0f} MB")
    if args.profile:
        pstats.Stats(args.profile).sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
