"""Grouping benchmark: B-cubed and pairwise precision/recall of incidents against gold clusters, and
feed-snapshot replays through the real pipeline (duplicates, alerts).

    python -m bench.grouping [--eval ../shared/eval]

1. `dev.jsonl`: the relevant, non-unsure items go through the real classifier and the real store
   (temporary SQLite), oldest first, one item per transaction (as a live feed would deliver them) and
   again as one batch. Each item's incident is compared with its gold `cluster`:
   - "clustered": items that have a cluster id (the figure the target, B-cubed F1 >= 0.90, is about);
   - "all relevant": every relevant non-unsure item, an item of no cluster being its own gold cluster.
   An item the classifier misses is its own predicted cluster (it costs recall).
2. `feeds/snapshots/`: each outlet's five polls, then all outlets' polls in time order, parsed by
   `parse_feed` and stored by `process_items`, as the daemon does. Reported: articles stored per distinct
   item (1.0 means no duplicate articles), gold clusters split over several incidents, incidents, alerts.

The evaluation data is only measured here: nothing in monitor/ is derived from it.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from monitor.feeds.parse import parse_feed
from monitor.models import FeedItem
from monitor.pipeline import Deps, process_items
from monitor.reading.classify import Classifier
from monitor.settings import AlertSettings, DatabaseSettings, Settings, TargetSettings
from monitor.store import Store
from monitor.store.merging import SUPERSEDED
from monitor.store.schema import articles, outbox
from monitor.store.schema import incidents as incident_rows

DEFAULT_EVAL = Path(__file__).resolve().parents[2] / "shared" / "eval"
ALERTS = AlertSettings(targets=(TargetSettings(name="desk", url="json://127.0.0.1:9/desk"),))


def bcubed(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    """B-cubed precision, recall, F1 over the items of `gold` (pred: item -> predicted cluster)."""
    items = list(gold)
    by_pred: dict[str, set[str]] = defaultdict(set)
    by_gold: dict[str, set[str]] = defaultdict(set)
    for i in items:
        by_pred[pred[i]].add(i)
        by_gold[gold[i]].add(i)
    p = r = 0.0
    for i in items:
        same = len(by_pred[pred[i]] & by_gold[gold[i]])
        p += same / len(by_pred[pred[i]])
        r += same / len(by_gold[gold[i]])
    p, r = p / len(items), r / len(items)
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def pairwise(pred: dict[str, str], gold: dict[str, str]) -> tuple[float, float, float]:
    items = sorted(gold)
    tp = fp = fn = 0
    for a_i, a in enumerate(items):
        for b in items[a_i + 1:]:
            same_p, same_g = pred[a] == pred[b], gold[a] == gold[b]
            tp += same_p and same_g
            fp += same_p and not same_g
            fn += same_g and not same_p
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / (tp + fn) if tp + fn else 1.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def _deps(store: Store, classifier: Classifier, clock: list[datetime]) -> Deps:
    settings = Settings(database=DatabaseSettings(url="bench"), alerts=ALERTS)
    return Deps(settings=settings, store=store, classifier=classifier, owner="bench",
                clock=lambda: clock[0], rng=random.Random(1))


def _incident_of(store: Store) -> dict[str, str]:
    """external_id -> incident id ("-" + external id for an article in no incident)."""
    with store.read() as conn:
        return {r.external_id: (f"I{r.incident_id}" if r.incident_id else f"-{r.external_id}")
                for r in conn.execute(select(articles.c.external_id, articles.c.incident_id))}


def _item(rec: dict[str, Any]) -> FeedItem:
    published = datetime.fromisoformat(rec["published"].replace("Z", "+00:00")) if rec.get("published") else None
    if published is not None and published.tzinfo is None:
        published = published.replace(tzinfo=UTC)
    return FeedItem(title=rec.get("title") or "", text=rec.get("text") or "", url=rec.get("url"),
                    published_at=published, source=rec.get("source") or "", lang=rec.get("lang"),
                    external_id=rec["id"])


def group_dev(records: Sequence[dict[str, Any]], classifier: Classifier, *, one_batch: bool) -> dict[str, str]:
    """Run records through classify + store; returns item id -> predicted cluster."""
    records = sorted(records, key=lambda r: (r.get("published") or "", r["id"]))
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp}/bench.db"))
        store.upgrade()
        clock = [datetime(2026, 1, 1, tzinfo=UTC)]
        deps = _deps(store, classifier, clock)
        batches: Iterable[Sequence[dict[str, Any]]] = [records] if one_batch else ([r] for r in records)
        for batch in batches:
            process_items([_item(r) for r in batch], deps)
        found = _incident_of(store)
        store.close()
    return {r["id"]: found.get(r["id"], f"-{r['id']}") for r in records}


def report_dev(path: Path, classifier: Classifier) -> None:
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    chosen = [r for r in records if r.get("relevant") and not r.get("unsure")]
    clustered = {r["id"]: r["cluster"] for r in chosen if r.get("cluster")}
    everything = {r["id"]: r.get("cluster") or f"solo:{r['id']}" for r in chosen}
    print(f"dev.jsonl: {len(chosen)} relevant non-unsure items, {len(clustered)} of them in "
          f"{len(set(clustered.values()))} gold clusters")
    for one_batch in (False, True):
        started = time.perf_counter()
        pred = group_dev(chosen, classifier, one_batch=one_batch)
        took = time.perf_counter() - started
        mode = "one batch" if one_batch else "item by item, oldest first"
        print(f"  [{mode}] {len(set(pred.values()))} predicted groups, {took:.1f}s")
        for name, gold in (("clustered", clustered), ("all relevant", everything)):
            bp, br, bf = bcubed(pred, gold)
            pp, pr, pf = pairwise(pred, gold)
            print(f"    {name:13s} B-cubed P={bp:.3f} R={br:.3f} F1={bf:.3f}   pairwise P={pp:.3f} R={pr:.3f} "
                  f"F1={pf:.3f}")


def replay(root: Path, outlets: Sequence[dict[str, Any]], classifier: Classifier,
           gold: dict[str, str | None]) -> dict[str, Any]:
    """Replay the polls of `outlets` in time order through parse_feed + process_items."""
    polls = sorted(((p["fetched_at"], o, p) for o in outlets for p in o["polls"]), key=lambda x: x[0])
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(DatabaseSettings(url=f"sqlite:///{tmp}/replay.db"))
        store.upgrade()
        clock = [datetime.now(UTC)]
        deps = _deps(store, classifier, clock)
        stored_ids: dict[str, set[int]] = defaultdict(set)
        for fetched_at, outlet, poll in polls:
            clock[0] = datetime.fromisoformat(fetched_at.replace("Z", "+00:00"))
            body = (root / outlet["folder"] / poll["file"]).read_bytes()
            items = parse_feed(body, {}, source=outlet["name"], url=f"https://{outlet['folder']}.example/feed")
            if len(items) != len(poll["ids"]):
                raise SystemExit(f"{outlet['name']} {poll['file']}: {len(items)} items, manifest says "
                                 f"{len(poll['ids'])}")
            items = [FeedItem(**{**i.__dict__, "external_id": dev_id}) for i, dev_id in zip(items, poll["ids"],
                                                                                             strict=True)]
            process_items(items, deps)
        with store.read() as conn:
            rows = conn.execute(select(articles.c.id, articles.c.external_id, articles.c.incident_id)).all()
            alerts = conn.execute(select(outbox.c.kind, outbox.c.incident_id).where(
                outbox.c.status != SUPERSEDED)).all()  # queued alerts a merge made moot are never sent
            merged = conn.execute(select(func.count()).select_from(incident_rows).where(
                incident_rows.c.merged_into.is_not(None))).scalar_one()
        store.close()
    clusters_to_incidents: dict[str, set[int]] = defaultdict(set)
    for r in rows:
        stored_ids[r.external_id].add(r.id)
        cluster = gold.get(r.external_id)
        if cluster and r.incident_id:
            clusters_to_incidents[cluster].add(r.incident_id)
    incidents = {r.incident_id for r in rows if r.incident_id}
    return {
        "items": len(stored_ids), "articles": len(rows),
        "duplicate_articles": sum(len(v) - 1 for v in stored_ids.values()),
        "incidents": len(incidents), "merged": merged,
        "split_clusters": sum(1 for v in clusters_to_incidents.values() if len(v) > 1),
        "alerts_incident": sum(1 for a in alerts if a.kind == "incident"),
        "alerts_update": sum(1 for a in alerts if a.kind == "update"),
        "incidents_alerted_twice": sum(1 for n in _count(a.incident_id for a in alerts if a.kind == "incident")
                                       .values() if n > 1),
    }


def _count(values: Iterable[Any]) -> dict[Any, int]:
    out: dict[Any, int] = defaultdict(int)
    for v in values:
        out[v] += 1
    return out


def report_snapshots(root: Path, dev: Path, classifier: Classifier) -> None:
    manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    records = [json.loads(line) for line in dev.read_text(encoding="utf-8").splitlines() if line.strip()]
    gold = {r["id"]: (r.get("cluster") if r.get("relevant") and not r.get("unsure") else None) for r in records}
    print("feeds/snapshots replays (one target):")
    runs = [(o["name"], [o]) for o in manifest["outlets"]] + [("all outlets", manifest["outlets"])]
    for name, outlets in runs:
        r = replay(root, outlets, classifier, gold)
        print(f"  {name:32s} items={r['items']:3d} articles={r['articles']:3d} "
              f"duplicate_articles={r['duplicate_articles']} incidents={r['incidents']:3d} merged={r['merged']} "
              f"split_gold_clusters={r['split_clusters']} alerts: incident={r['alerts_incident']} "
              f"update={r['alerts_update']} incidents_alerted_twice={r['incidents_alerted_twice']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval", type=Path, default=DEFAULT_EVAL, help="the shared eval folder")
    args = parser.parse_args()
    classifier = Classifier.from_settings()
    report_dev(args.eval / "dev.jsonl", classifier)
    report_snapshots(args.eval / "feeds" / "snapshots", args.eval / "dev.jsonl", classifier)


if __name__ == "__main__":
    main()
