"""Cost of one new article as the store grows: 10k, 100k, 1M stored articles (incidents = articles / 10).

    python -m bench.article_cost [--sizes 10000,100000,1000000] [--db sqlite|postgresql] [--batch 200]

For each size, fills a fresh store with synthetic articles and incidents (bulk Core inserts spread over 20
countries and a year of dates, like a long-running deployment), then times `process_items` on a batch of
new articles (a third of them relevant, so they go through candidate lookup, grouping, revisions and the
outbox). Prints ms per new article and, as the same-run baseline, ms of a primary-key lookup; the cost
should stay flat as the store grows.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.pipeline import _database
from monitor.models import FeedItem
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, Settings
from monitor.store import Store
from monitor.store.schema import articles, incidents

COUNTRIES = ["UA", "AM", "AZ", "SY", "SD", "LB", "IL", "YE", "CD", "IN", "PK", "LY", "ML", "SO", "MM", "ET",
             "NG", "IQ", "AF", "RU"]
START = date(2025, 1, 1)


def fill(store: Store, n_articles: int, rng: random.Random, chunk: int = 20_000) -> None:
    now = datetime.now(UTC)
    n_incidents = n_articles // 10
    with store.write() as conn:
        for lo in range(0, n_incidents, chunk):
            rows = []
            for i in range(lo, min(n_incidents, lo + chunk)):
                lat, lon = rng.uniform(-30, 60), rng.uniform(-20, 120)
                rows.append({"public_id": f"INC-B{i:07d}", "revision": 1, "event_date": START + timedelta(
                    days=rng.randrange(365)), "first_seen_at": now, "updated_at": now,
                    "country": rng.choice(COUNTRIES), "admin1": None, "place": f"Town {i % 5000}",
                    "geonameid": i, "lat": lat, "lon": lon, "geo_precision": "place",
                    "geo_bucket": f"{int(lat // 1)}:{int(lon // 1)}", "labels": ["shelling"], "killed": None,
                    "injured": None, "severity": 2.0, "source_count": 1, "ceasefire": None,
                    "title": f"Shelling of town {i}", "evidence": ["shelling"], "signature": "shelli town"})
            conn.execute(insert(incidents), rows)
        first_incident = conn.execute(select(incidents.c.id).order_by(incidents.c.id).limit(1)).scalar() or 1
        for lo in range(0, n_articles, chunk):
            rows = []
            for i in range(lo, min(n_articles, lo + chunk)):
                relevant = i % 10 == 0
                rows.append({"fingerprint": f"bulk-{i:09d}", "feed_id": None, "external_id": None,
                             "source": f"Outlet {i % 50}", "url": f"https://bulk.example/{i}", "guid": None,
                             "title": f"Story {i}", "summary": "", "lang": "en", "published_at": now,
                             "first_seen_at": now, "relevant": relevant, "score": 0.0, "labels": [],
                             "extraction": {}, "incident_id": first_incident + i // 10 if relevant else None})
            conn.execute(insert(articles), rows)


def new_items(rng: random.Random, n: int, tag: str) -> list[FeedItem]:
    places = ["Donetsk", "Kharkiv", "Aleppo", "Khartoum", "Goma", "Tyre", "Marib", "Jermuk"]
    items = []
    for i in range(n):
        if i % 3 == 0:
            p = rng.choice(places)
            title, text = f"Shelling kills {rng.randrange(1, 9)} in {p}", f"Artillery hit {p} overnight."
        else:
            title, text = f"Budget debate continues {i}", "Lawmakers met again on Tuesday."
        items.append(FeedItem(title=title, text=text, url=f"https://new.example/{tag}/{i}", source=f"Wire {i % 7}",
                              published_at=datetime.now(UTC) - timedelta(hours=1)))
    return items


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--batch", type=int, default=200)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    classifier = Classifier.from_settings()
    print(f"db {args.db}; batch {args.batch} new articles x {args.rounds} rounds per size")
    for size in (int(s) for s in args.sizes.split(",")):
        rng = random.Random(size)
        with tempfile.TemporaryDirectory() as tmp:
            url = _database(args.db, Path(tmp))
            store = Store.open(DatabaseSettings(url=url))
            store.upgrade()
            t = time.perf_counter()
            fill(store, size, rng)
            fill_s = time.perf_counter() - t
            deps = Deps(settings=Settings(database=DatabaseSettings(url=url)), store=store, classifier=classifier,
                        owner="bench")
            with store.read() as conn:
                t = time.perf_counter()
                for i in range(1, 501):
                    conn.execute(select(articles.c.id).where(articles.c.fingerprint == f"bulk-{i * 7:09d}")).first()
                lookup_ms = (time.perf_counter() - t) / 500 * 1000
            per_article = []
            for r in range(args.rounds):
                items = new_items(rng, args.batch, f"{size}-{r}")
                t = time.perf_counter()
                process_items(items, deps)
                per_article.append((time.perf_counter() - t) / args.batch * 1000)
            best = min(per_article)
            print(f"{size:>9} articles ({size // 10} incidents; filled in {fill_s:5.1f} s): "
                  f"{best:6.3f} ms per new article (best of {args.rounds}); "
                  f"indexed lookup {lookup_ms:.3f} ms; ratio {best / lookup_ms:6.1f}")
            store.close()


if __name__ == "__main__":
    main()
