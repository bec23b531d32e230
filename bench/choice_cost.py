"""What the learned choices cost: classify throughput with the shipped weights against the rules alone.

    .venv/bin/python bench/choice_cost.py [FILE.jsonl ...] [--rounds 3]

Classifies the items of the given JSON Lines files (default: the three labelled files of
/work/shared/eval) with the rules alone and with monitor/data/choice.json, alternating the two in
each round so both see the same machine load, and prints items per CPU-second of each and their
ratio (the best round of each).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.eval_classify import to_item
from monitor.models import FeedItem
from monitor.reading.choice import NO_CHOICES
from monitor.reading.classify import Classifier

DEFAULT = [Path("/work/shared/eval") / name for name in ("dev.jsonl", "acled-dev.jsonl", "train-news.jsonl")]


def rate(classifier: Classifier, items: list[FeedItem]) -> float:
    started = time.process_time()
    for item in items:
        classifier.classify(item)
    return len(items) / max(time.process_time() - started, 1e-9)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    files = [f for f in args.files if f.exists()]
    if not files:
        print("skipped: none of the files exists (pass JSON Lines files with title/text)")
        return 0
    items = [to_item(json.loads(line)) for f in files for line in f.read_text(encoding="utf-8").splitlines()
             if line.strip()]
    learned = Classifier.from_settings()
    rules = learned.with_choices(NO_CHOICES)
    rates: dict[str, list[float]] = {"rules alone": [], "with choices": []}
    for _ in range(args.rounds):
        rates["rules alone"].append(rate(rules, items))
        rates["with choices"].append(rate(learned, items))
    best = {name: max(values) for name, values in rates.items()}
    labelled = sum(learned.classify(item).relevant for item in items)
    print(f"{len(items)} items ({labelled} labelled with choices), best of {args.rounds} rounds, one core")
    for name, value in best.items():
        print(f"  {name:14} {value:9,.0f} items/CPU-s")
    print(f"  ratio with/without: {best['with choices'] / best['rules alone']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
