"""What the analyst's desk asks the API, at scale, against baselines measured in the same run.

    python -m bench.desk_queries [--scale 1.0] [--db sqlite|postgresql|URL] [--repeat 20] [--keep]

Seeds a store like bench.queries (100,000 x scale incidents over two years, ~10 articles each; 2% of the
incidents then lose their event date, so the "undated last" part of the order is exercised), then times
through the API (starlette TestClient, in process) the dashboard's calls: the list in event-date order
(first page, a later page, with a country, with event-date and first-seen filters), the timeline over all
the data, one incident and its articles with evidence marks, and the pages. Baselines: GET /healthz and the
list in the default updated-at order, which the dashboard used before. Median and p95 in ms, and each
median's ratio to /healthz's.
"""

from __future__ import annotations

import os
import platform
import subprocess
import time
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update

from bench.queries import _open, public_id, seed, store_bench_args, timed
from monitor.store.schema import articles, incidents


def main() -> None:
    args = store_bench_args(__doc__, repeat=20)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from monitor.web.api import create_app

    n_incidents = int(100_000 * args.scale)
    store, seeded, cleanup = _open(args.db, args.scale, args.keep)
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        print(f"# bench.desk_queries  commit {commit or '?'}  {platform.node()}  {os.cpu_count()} cpus  "
              f"python {platform.python_version()}  db {store.dialect}")
        if not seeded:
            t = time.perf_counter()
            n_articles = seed(store, n_incidents)
            with store.write() as conn:
                conn.execute(update(incidents).where(incidents.c.id % 50 == 0).values(event_date=None))
                conn.execute(text("ANALYZE"))
            print(f"seeded {n_incidents:,} incidents, {n_articles:,} articles in {time.perf_counter() - t:.1f}s")
        with store.read() as conn:
            n_art = conn.execute(select(func.count()).select_from(articles)).scalar_one()
            n_inc = conn.execute(select(func.count()).select_from(incidents)).scalar_one()
        print(f"store: {n_inc:,} incidents, {n_art:,} articles\n")

        client = TestClient(create_app(store, None, ceasefires=()))
        probe = public_id(n_incidents // 2)
        year_ago = (datetime.now(UTC) - timedelta(days=365)).date().isoformat()

        def get(url: str) -> Callable[[], None]:
            def call() -> None:
                r = client.get(url)
                assert r.status_code == 200, (url, r.status_code, r.text[:200])
            return call

        page = client.get("/api/incidents?order=event&limit=100").json()
        for _ in range(9):  # the 10th page
            page = client.get(page["next"]).json()
        cases: list[tuple[str, Callable[[], None]]] = [
            ("baseline: GET /healthz (SELECT 1 over HTTP)", get("/healthz")),
            ("baseline: list by update (limit 100)", get("/api/incidents?limit=100")),
            ("list by event date (limit 100)", get("/api/incidents?order=event&limit=100")),
            ("list by event date, page 11 (cursor)", get(page["next"])),
            ("by event date + country AM", get("/api/incidents?order=event&limit=100&country=AM")),
            ("by event date + event_since 1 y", get(f"/api/incidents?order=event&limit=100&event_since={year_ago}")),
            ("by event date + seen_since 30 d", get("/api/incidents?order=event&limit=100&seen_since=30d")),
            ("timeline, all the data (all=1)", get("/api/timeline?all=1")),
            ("timeline, event_since 1 y", get(f"/api/timeline?event_since={year_ago}")),
            ("one incident", get(f"/api/incidents/{probe}")),
            ("its articles with evidence marks", get(f"/api/incidents/{probe}/articles")),
            ("dashboard page (HTML)", get("/")),
            ("incident page (HTML)", get(f"/incidents/{probe}")),
        ]
        results = [(name, *timed(fn, args.repeat)) for name, fn in cases]
        base = results[0][1]
        print(f"{'query':45} {'median ms':>10} {'p95 ms':>8} {'x /healthz':>10} {'CPU ms':>8}")
        for name, med, p95, cpu in results:
            print(f"{name:45} {med:10.1f} {p95:8.1f} {med / base:10.1f} {cpu:8.1f}")
        client.close()
    finally:
        store.close()
        cleanup()


if __name__ == "__main__":
    main()
