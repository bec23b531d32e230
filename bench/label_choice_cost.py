"""CPU cost of classify's decide step: the per-label choice beside the item-level veto it replaced.

    taskset -c 0 .venv/bin/python -m bench.label_choice_cost [--items 3000] [--before WEIGHTS.json]

On the texts of dev.jsonl and the snapshot feeds' items (bench/real_text.py), cycled to --items, the
rule matches are found once; then, timed in the same run on the same matches, best of --repeat:
"item veto" is Classifier._decide plus one dot product of the item's relevance features (what classify
did before the per-label choice, with the weights of --before, e.g. main's choice.json: `git show
main:monitor/data/choice.json > /tmp/before.json`), and "per label" is _decide plus the rows of the
labels it gave and their choice (relevance.label_features and relevance.kept, with the shipped weights).
Figures are CPU µs per item (process time) and the ratio of the two.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_text import dev_items, snapshot_items
from monitor.reading import relevance
from monitor.reading.choice import Model, read_choices
from monitor.reading.classify import Classifier


def item_veto(classifier: Classifier, model: Model | None, prepared: list[tuple[str, str, list[Any]]]) -> float:
    start = time.process_time()
    for lang, text, hits in prepared:
        labels, _ = classifier._decide(hits)
        if labels and model is not None:
            model.accepts(classifier.relevance_features(lang, text, hits))
    return time.process_time() - start


def per_label(classifier: Classifier, model: Model | None, prepared: list[tuple[str, str, list[Any]]]) -> float:
    start = time.process_time()
    for lang, text, hits in prepared:
        labels, _ = classifier._decide(hits)
        if labels and model is not None:
            relevance.kept(model, classifier.label_features(lang, text, hits, labels))
    return time.process_time() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--before", type=Path, help="weights of the item veto (default: the shipped ones)")
    args = ap.parse_args()
    classifier = Classifier.from_settings()
    shipped = classifier._choices.relevance
    before = read_choices(args.before).relevance if args.before else shipped
    print(f"{args.items} items per column, cycled; CPU µs per item, best of {args.repeat}")
    print(f"{'':22}{'item veto':>12}{'per label':>12}{'ratio':>8}{'labelled':>10}")
    for name, distinct in (("dev.jsonl texts", dev_items()), ("snapshot items", snapshot_items())):
        if not distinct:
            print(f"{name}: not found; left out")
            continue
        items = list(itertools.islice(itertools.cycle(distinct), args.items))
        prepared = [classifier.hits(item) for item in items]
        labelled = sum(1 for _, _, hits in prepared if classifier._decide(hits)[0])
        old = min(item_veto(classifier, before, prepared) for _ in range(args.repeat))
        new = min(per_label(classifier, shipped, prepared) for _ in range(args.repeat))
        n = len(items)
        print(f"{name:22}{old / n * 1e6:>12.1f}{new / n * 1e6:>12.1f}{new / old:>8.2f}{labelled / n:>10.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
