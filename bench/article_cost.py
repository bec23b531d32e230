"""Cost of one new article as the store grows, with stored incidents that the new articles meet.

    python -m bench.article_cost [--sizes 10000,100000,1000000] [--db sqlite|postgresql] [--batch 100]

New articles are the real texts of the evaluation set's dev.jsonl (bench/real_text.py; generated
reports when it is absent), a fresh slice of --batch items per round. They are classified first, and
every (country, event day) they fall in becomes a hot spot: --hot incidents (200, the candidate cap)
stored on that very day and country, so each relevant new article is compared with a full bucket of
candidates, as during a war. The other incidents (articles / 10 in all, at least the hot spots) are
spread over the 20 most reported countries and the year before, and `articles` rows are linked to them.
Then `process_items` (classify, group, store, outbox) runs on each round's batch in one transaction.

Prints, per size: ms per new article (best of --rounds), the candidates a relevant new article met
(measured with the store's own candidate query), and the same-run baseline: ms of an indexed primary-
key lookup; then the same two in CPU time of this process (time.process_time: steadier on a busy machine;
on PostgreSQL the server's share is not in it). The cost is flat when the first figure stays put as the
store grows 10x and 100x.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, select

from bench.pipeline import _database
from bench.real_text import dev_items
from monitor.models import FeedItem
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import DatabaseSettings, Settings
from monitor.store import Store
from monitor.store.batch import candidate_ids
from monitor.store.schema import articles, incidents

COUNTRIES = ["UA", "AM", "AZ", "SY", "SD", "LB", "IL", "YE", "CD", "IN", "PK", "LY", "ML", "SO", "MM", "ET",
             "NG", "IQ", "AF", "RU"]
Bucket = tuple[str, date]


def new_articles(n: int, rng: random.Random) -> list[FeedItem]:
    """Real texts when there (unique URLs, so each round's are new), else generated reports."""
    real = dev_items()
    if real:
        rng.shuffle(real)
        return [replace(it, url=f"https://new.example/{i}", guid=None) for i, it in enumerate(real[:n])]
    places = ["Donetsk", "Kharkiv", "Aleppo", "Khartoum", "Goma", "Tyre", "Marib", "Jermuk"]
    out = []
    for i in range(n):
        p = rng.choice(places)
        title, text = ((f"Shelling kills {rng.randrange(1, 9)} in {p}", f"Artillery hit {p} overnight.")
                       if i % 3 == 0 else (f"Budget debate continues {i}", "Lawmakers met again on Tuesday."))
        out.append(FeedItem(title=title, text=text, url=f"https://new.example/{i}", source=f"Wire {i % 7}",
                            published_at=datetime.now(UTC) - timedelta(hours=1)))
    return out


def buckets_of(items: Sequence[FeedItem], classifier: Classifier) -> list[Bucket]:
    """The (country, event day) of every relevant item: where its candidates are looked up."""
    found: list[Bucket] = []
    for item in items:
        c = classifier.classify(item)
        if c.relevant and c.event_date is not None:
            found.extend((country, c.event_date) for country in c.countries[:1])
    return sorted(set(found))


def _incident(i: int, country: str, day: date, rng: random.Random, now: datetime) -> dict[str, object]:
    lat, lon = rng.uniform(-30, 60), rng.uniform(-20, 120)
    outlet = f"Outlet {i % 50}"
    # sources and copies as the pipeline writes them (a row without them is read with its members)
    return {"public_id": f"INC-B{i:07d}", "revision": 1, "event_date": day, "last_event_date": day,
            "sources": [outlet], "copies": [[outlet, rng.getrandbits(63)]], "first_seen_at": now, "updated_at": now,
            "country": country, "admin1": None, "place": f"Town {i % 5000}", "geonameid": i, "lat": lat, "lon": lon,
            "geo_precision": "place", "geo_bucket": f"{int(lat // 1)}:{int(lon // 1)}", "labels": ["shelling"],
            "killed": None, "injured": None, "severity": 2.0, "source_count": 1, "ceasefire": None,
            "title": f"Shelling of town {i}", "evidence": ["shelling"], "signature": "shelli town"}


def fill(store: Store, n_articles: int, hot: list[Bucket], per_hot: int, rng: random.Random,
         chunk: int = 20_000) -> int:
    """Store the hot spots, the spread incidents and `n_articles` articles; returns the incident count."""
    now = datetime.now(UTC)
    last = max((d for _, d in hot), default=now.date())
    plan = [(country, day) for country, day in hot for _ in range(per_hot)]
    spread = max(0, n_articles // 10 - len(plan))
    plan += [(rng.choice(COUNTRIES), last - timedelta(days=rng.randrange(365))) for _ in range(spread)]
    with store.write() as conn:
        for lo in range(0, len(plan), chunk):
            conn.execute(insert(incidents), [_incident(i, *plan[i], rng, now)
                                             for i in range(lo, min(len(plan), lo + chunk))])
        first = conn.execute(select(incidents.c.id).order_by(incidents.c.id).limit(1)).scalar() or 1
        for lo in range(0, n_articles, chunk):
            conn.execute(insert(articles), [
                {"fingerprint": f"bulk-{i:09d}", "feed_id": None, "external_id": None, "source": f"Outlet {i % 50}",
                 "url": f"https://bulk.example/{i}", "guid": None, "title": f"Story {i}", "summary": "", "lang": "en",
                 "published_at": now, "first_seen_at": now, "relevant": True, "score": 0.5, "labels": ["shelling"],
                 "extraction": {}, "incident_id": first + i % len(plan)}
                for i in range(lo, min(n_articles, lo + chunk))])
    return len(plan)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000")
    ap.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--batch", type=int, default=100, help="new articles per round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--hot", type=int, default=200, help="incidents per (country, day) the new articles fall in")
    args = ap.parse_args()
    classifier = Classifier.from_settings()
    rng = random.Random(12)
    pool = new_articles(args.batch * args.rounds, rng)
    rounds = [pool[r * args.batch:(r + 1) * args.batch] for r in range(args.rounds)]
    hot = buckets_of(pool, classifier)
    source = "dev.jsonl texts" if dev_items() else "generated reports (dev.jsonl not found)"
    print(f"db {args.db}; new articles: {source}, {args.batch} x {args.rounds} rounds per size; "
          f"{len(hot)} hot (country, day) buckets x {args.hot} incidents")
    for size in (int(s) for s in args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            url = _database(args.db, Path(tmp))
            store = Store.open(DatabaseSettings(url=url))
            store.upgrade()
            t = time.perf_counter()
            n_incidents = fill(store, size, hot, args.hot, random.Random(size))
            fill_s = time.perf_counter() - t
            deps = Deps(settings=Settings(database=DatabaseSettings(url=url)), store=store, classifier=classifier,
                        owner="bench")
            with store.read() as conn:
                met = [len(candidate_ids(conn, (country,), day)) for country, day in hot]
                t, c = time.perf_counter(), time.process_time()
                for i in range(1, 501):
                    conn.execute(select(articles.c.id).where(articles.c.fingerprint == f"bulk-{i * 7:09d}")).first()
                lookup_ms = (time.perf_counter() - t) / 500 * 1000
                lookup_cpu = (time.process_time() - c) / 500 * 1000
            per_article, per_article_cpu = [], []
            for batch in rounds:
                t, c = time.perf_counter(), time.process_time()
                process_items(batch, deps)
                per_article.append((time.perf_counter() - t) / len(batch) * 1000)
                per_article_cpu.append((time.process_time() - c) / len(batch) * 1000)
            best, best_cpu = min(per_article), min(per_article_cpu)
            print(f"{size:>9} articles, {n_incidents} incidents (filled in {fill_s:5.1f} s): "
                  f"{best:6.2f} ms per new article (best of {args.rounds}); candidates met per bucket "
                  f"min {min(met, default=0)} / mean {sum(met) / max(1, len(met)):.0f}; "
                  f"indexed lookup {lookup_ms:.3f} ms; ratio {best / lookup_ms:6.0f}")
            print(f"{'':>9} CPU time of this process: {best_cpu:6.2f} ms per new article; indexed lookup "
                  f"{lookup_cpu:.3f} ms; ratio {best_cpu / lookup_cpu:6.0f}")
            store.close()


if __name__ == "__main__":
    main()
