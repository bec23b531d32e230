"""Query latency at scale: the common questions through the HTTP API over 100,000 incidents / 1,000,000 articles.

    python -m bench.queries [--scale 1.0] [--db sqlite|postgresql|URL] [--repeat 30] [--keep]

1. Seeds a store (migrated to head) by bulk INSERTs with SQLAlchemy Core, not through the pipeline:
   100,000 x scale incidents over the last two years in ten countries, ~10 articles each. With --keep
   an SQLite file already seeded at the same scale is reused, and so is a database given by URL that is
   already seeded (e.g. a PostgreSQL database kept for before/after runs).
2. Measures, in the same run, baselines (a primary-key SELECT; GET /healthz, which is one `SELECT 1`
   through the whole HTTP stack; the 1,000-row page's incidents and articles read bare by the driver) and
   then each query through the API (starlette TestClient, in process), `repeat` times after one warm-up:
   median and p95 in ms, the ratio of the median to /healthz's, and the median CPU ms of the process
   (steadier than the wall clock while other jobs share the cores).
3. Exports the first 20,000 x scale incidents as CSV (the `export` code path) and reports rows/s and the
   tracemalloc peak, which must stay that of a few batches whatever the row count.
"""

from __future__ import annotations

import argparse
import io
import math
import os
import platform
import random
import statistics
import subprocess
import tempfile
import time
import tracemalloc
import uuid
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select, text

from monitor.cli.query import write_export
from monitor.geo import geo_bucket
from monitor.models import LABELS
from monitor.settings import DatabaseSettings
from monitor.store import IncidentFilter, Store
from monitor.store.queries import export_incidents
from monitor.store.schema import articles, incident_revisions, incidents, outbox

COUNTRIES = [("UA", 48.5, 35.0, 0.40), ("AM", 39.9, 45.3, 0.10), ("AZ", 40.2, 47.5, 0.08), ("SY", 35.0, 38.0, 0.10),
             ("LB", 33.6, 35.7, 0.06), ("IL", 31.5, 34.8, 0.06), ("SD", 15.5, 32.5, 0.08), ("IN", 33.5, 75.0, 0.04),
             ("PK", 33.7, 73.5, 0.04), ("RU", 51.0, 36.5, 0.04)]
JERMUK = (39.8414, 45.6703)
WORDS = ["artillery", "mortar", "drone", "rocket", "sniper", "positions", "village", "border", "overnight",
         "shelled", "killed", "wounded", "troops", "ceasefire", "violated", "strike", "clashes", "residents"]
OUTLETS = [f"Outlet {i}" for i in range(60)]
ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
CHUNK = 5_000


def public_id(i: int) -> str:
    chars = []
    for _ in range(6):
        i, r = divmod(i, len(ALPHABET))
        chars.append(ALPHABET[r])
    return "INC-" + "".join(reversed(chars))


def _incident(i: int, rng: random.Random, now: datetime) -> tuple[dict[str, Any], int]:
    cc, clat, clon, _ = rng.choices(COUNTRIES, weights=[c[3] for c in COUNTRIES])[0]
    lat, lon = clat + rng.uniform(-2, 2), clon + rng.uniform(-2, 2)
    if cc == "AM" and rng.random() < 0.05:  # a cluster around Jermuk for the "near" query
        lat, lon = JERMUK[0] + rng.uniform(-0.3, 0.3), JERMUK[1] + rng.uniform(-0.3, 0.3)
    first = now - timedelta(minutes=rng.uniform(0, 730 * 1440))
    updated = min(now, first + timedelta(minutes=rng.expovariate(1 / 120)))
    labels = sorted(set(rng.sample(LABELS, rng.choice([1, 1, 1, 2]))), key=LABELS.index)
    words = rng.sample(WORDS, 6)
    sources = max(1, min(40, int(rng.expovariate(1 / 11))))  # ~10.6 on average
    return {
        "id": i + 1, "public_id": public_id(i), "revision": 1, "event_date": first.date(), "first_seen_at": first,
        "updated_at": updated, "country": cc, "admin1": None, "place": f"Place {rng.randrange(500)}",
        "geonameid": None, "lat": round(lat, 4), "lon": round(lon, 4), "geo_precision": "place",
        "geo_bucket": geo_bucket(lat, lon), "labels": labels, "killed": rng.choice([None, 0, 1, 2, 5, 12]),
        "injured": rng.choice([None, 1, 3]), "severity": round(rng.uniform(0, 10), 2), "source_count": sources,
        "ceasefire": "AM-AZ 2022" if cc in ("AM", "AZ") and rng.random() < 0.3 else None,
        "title": f"{words[0].title()} {' '.join(words[1:4])} in place {i % 997}",
        "evidence": [f"{words[4]} {words[5]}"], "signature": "",
    }, sources


def seed(store: Store, n_incidents: int, *, seed_value: int = 7, now: datetime | None = None) -> int:
    """Bulk-insert n_incidents incidents with their articles, revisions and some alerts. Returns articles."""
    rng = random.Random(seed_value)
    now = now or datetime.now(UTC)
    n_articles = 0
    for start in range(0, n_incidents, CHUNK):
        inc_rows, art_rows, rev_rows, out_rows = [], [], [], []
        for i in range(start, min(n_incidents, start + CHUNK)):
            row, sources = _incident(i, rng, now)
            inc_rows.append(row)
            rev_rows.append({"incident_id": row["id"], "revision": 1, "created_at": row["first_seen_at"],
                             "reasons": ["new incident"], "snapshot": {}})
            for j in range(sources):
                n_articles += 1
                art_rows.append({
                    "fingerprint": uuid.UUID(int=rng.getrandbits(128)).hex + f"{n_articles:x}",
                    "source": OUTLETS[(i + j) % len(OUTLETS)], "url": f"https://news{j}.example/{i}/{j}",
                    "external_id": None, "feed_id": None, "guid": None, "lang": "en",
                    "title": row["title"], "summary": "Text of the report. " * 8,
                    "published_at": row["first_seen_at"] + timedelta(minutes=j), "first_seen_at": row["updated_at"],
                    "relevant": True, "score": 0.9, "labels": [{"label": lb, "score": 0.9} for lb in row["labels"]],
                    "extraction": {"actors": ["Armed forces"]}, "incident_id": row["id"]})
            if i % 10 == 0:
                out_rows.append({"kind": "incident", "incident_id": row["id"], "revision": 1, "target": "desk",
                                 "idempotency_key": f"incident:{row['public_id']}:1:desk", "title": "t", "body": "b",
                                 "body_format": "text", "status": rng.choice(["sent", "sent", "failed", "pending"]),
                                 "attempts": 1, "next_attempt_at": now, "created_at": row["first_seen_at"]})
        with store.write() as conn:
            conn.execute(insert(incidents), inc_rows)
            conn.execute(insert(articles), art_rows)
            conn.execute(insert(incident_revisions), rev_rows)
            conn.execute(insert(outbox), out_rows)
    with store.write() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT setval(pg_get_serial_sequence('incidents', 'id'), "
                              "(SELECT max(id) FROM incidents))"))
        conn.execute(text("ANALYZE"))
    return n_articles


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float, float]:
    """(median, p95, median CPU) of `repeat` calls in ms, after one warm-up call. The CPU time is the whole
    process's (the app runs in-process): on a machine other jobs keep busy, the steadier figure."""
    fn()
    samples, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, math.ceil(0.95 * len(samples)) - 1)]
    return statistics.median(samples), p95, statistics.median(cpu)


def _open(db: str, scale: float, keep: bool) -> tuple[Store, bool, Callable[[], None]]:
    """The store to bench, whether it is already seeded, and a cleanup function."""
    if db == "postgresql":
        import psycopg

        admin = os.environ.get("PG_ADMIN_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=postgres")
        name = f"cfm_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(admin, autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')

        def drop() -> None:
            with psycopg.connect(admin, autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        store = Store.open(DatabaseSettings(url=f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"))
        store.upgrade()
        return store, False, drop
    path = Path(tempfile.gettempdir()) / f"cfm-bench-queries-{scale:g}.db" if db == "sqlite" else None
    url = f"sqlite:///{path}" if path else db
    if path and path.exists() and not keep:
        path.unlink()
    store = Store.open(DatabaseSettings(url=url))
    store.upgrade()
    with store.read() as conn:
        seeded = bool(conn.execute(select(func.count()).select_from(incidents)).scalar_one())
    return store, seeded, (lambda: None)


def store_bench_args(doc: str | None, repeat: int) -> argparse.Namespace:
    """The options shared by the benches over a seeded store (this one and bench.desk_queries)."""
    ap = argparse.ArgumentParser(description=doc.split("\n")[0] if doc else None)
    ap.add_argument("--scale", type=float, default=1.0, help="1.0 = 100,000 incidents, ~1,000,000 articles")
    ap.add_argument("--db", default="sqlite", help="sqlite (a temp file), postgresql (a throwaway db) or a URL")
    ap.add_argument("--repeat", type=int, default=repeat)
    ap.add_argument("--keep", action="store_true", help="reuse the seeded SQLite file of an earlier run")
    return ap.parse_args()


def main() -> None:
    args = store_bench_args(__doc__, repeat=30)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from monitor.querying import resolve_place
    from monitor.web.api import create_app

    n_incidents = int(100_000 * args.scale)
    store, seeded, cleanup = _open(args.db, args.scale, args.keep)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"# bench.queries  commit {commit or '?'}  {platform.node()}  "
              f"{platform.processor() or platform.machine()}  {os.cpu_count()} cpus  "
              f"python {platform.python_version()}  db {store.dialect}")
        if not seeded:
            t = time.perf_counter()
            n_articles = seed(store, n_incidents)
            print(f"seeded {n_incidents:,} incidents, {n_articles:,} articles in {time.perf_counter() - t:.1f}s")
        with store.read() as conn:
            n_art = conn.execute(select(func.count()).select_from(articles)).scalar_one()
            n_inc = conn.execute(select(func.count()).select_from(incidents)).scalar_one()
        print(f"store: {n_inc:,} incidents, {n_art:,} articles\n")
        resolve_place("Jermuk")  # the gazetteer loads once per process; not part of a query's cost

        client = TestClient(create_app(store, None, ceasefires=()))
        probe = public_id(n_incidents // 2)

        def pk() -> None:
            with store.read() as conn:
                conn.execute(select(incidents).where(incidents.c.id == n_incidents // 2)).one()

        def bare_page() -> None:
            """The 1,000-row page's rows read bare (the driver's cursor, no JSON): its incidents, then their
            articles in one query, as the API reads them; what is left of the page is the API's own work."""
            since = datetime.now(UTC) - timedelta(days=7)
            mark = "?" if store.dialect == "sqlite" else "%s"
            with store.read() as conn:
                cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
                cursor.execute(f"SELECT * FROM incidents WHERE updated_at >= {mark} AND merged_into IS NULL "
                               "ORDER BY updated_at DESC, id DESC LIMIT 1001",
                               (since.replace(tzinfo=None).isoformat(sep=" ") if store.dialect == "sqlite"
                                else since.replace(tzinfo=None),))
                ids = [r[0] for r in cursor.fetchall()]
                cursor.execute("SELECT incident_id, external_id, url, source, title, published_at FROM articles "
                               f"WHERE incident_id IN ({','.join(map(str, ids)) or 'NULL'}) "
                               "ORDER BY incident_id, published_at, id")
                cursor.fetchall()

        def get(url: str, status: int = 200) -> Callable[[], None]:
            def call() -> None:
                r = client.get(url)
                assert r.status_code == status, (url, r.status_code, r.text[:200])
            return call

        first_page = client.get("/api/incidents?country=UA&limit=50").json()
        cases: list[tuple[str, Callable[[], None]]] = [
            ("baseline: SELECT by primary key (no HTTP)", pk),
            ("baseline: GET /healthz (SELECT 1 over HTTP)", get("/healthz")),
            ("last 24 h (limit 50)", get("/api/incidents?since=24h")),
            ("baseline: the 1,000-row page's rows, bare", bare_page),
            ("last 7 d, all (limit 1000)", get("/api/incidents?since=7d&limit=1000")),
            ("by country (AM, limit 50)", get("/api/incidents?country=AM")),
            ("by country + 30 d", get("/api/incidents?country=AM&since=30d")),
            ("by country, page 2 (cursor)", get(first_page["next"])),
            ("near a point (30 km)", get(f"/api/incidents?near={JERMUK[0]},{JERMUK[1]}&km=30")),
            ("near a place name (Jermuk, 30 km)", get("/api/incidents?near=Jermuk&km=30")),
            ("near + since 90 d", get(f"/api/incidents?near={JERMUK[0]},{JERMUK[1]}&km=50&since=90d")),
            ("text, common word (mortar)", get("/api/incidents?text=mortar")),
            ("text, rare (place 996)", get("/api/incidents?text=place%20996")),
            ("text, absent word", get("/api/incidents?text=zzzqqq")),
            ("text + country + 30 d", get("/api/incidents?text=mortar&country=AM&since=30d")),
            ("text, 2 characters: 400, too short to index", get("/api/incidents?text=qz", 400)),
            ("text, no letters (---): 400, no trigram", get("/api/incidents?text=---", 400)),
            ("label + min severity 9", get("/api/incidents?label=ceasefire_violation&min_severity=9")),
            ("ceasefire + min sources 10", get("/api/incidents?ceasefire=AM-AZ%202022&min_sources=10")),
            ("show one incident", get(f"/api/incidents/{probe}")),
            ("timeline, 90 d", get("/api/timeline?since=90d")),
            ("metrics scrape", get("/metrics")),
        ]
        results = []
        for name, fn in cases:
            results.append((name, *timed(fn, args.repeat)))
        base = results[1][1]
        print(f"{'query':45} {'median ms':>10} {'p95 ms':>8} {'x /healthz':>10} {'CPU ms':>8}")
        for name, med, p95, cpu in results:
            print(f"{name:45} {med:10.1f} {p95:8.1f} {med / base:10.1f} {cpu:8.1f}")

        n_export = int(20_000 * args.scale)
        sink = io.StringIO()
        sink.write = lambda s: len(s)  # type: ignore[method-assign]
        tracemalloc.start()
        t = time.perf_counter()
        with store.read() as conn:
            n = write_export(export_incidents(conn, IncidentFilter(limit=n_export)), "csv", sink)
        took = time.perf_counter() - t
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        print(f"\nexport CSV, first {n:,} incidents: {took:.1f}s ({n / took:,.0f} rows/s), "
              f"tracemalloc peak {peak / 1e6:.1f} MB (tracing slows the export)")
        client.close()
    finally:
        store.close()
        cleanup()


if __name__ == "__main__":
    main()
