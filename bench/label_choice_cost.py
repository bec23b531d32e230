"""CPU cost of classify's decide step, another version's code and weights vs this checkout's.

    git archive main monitor | tar -x -C /tmp/base
    taskset -c 0 .venv/bin/python -m bench.label_choice_cost /tmp/base [--items 3000] [--rounds 5]

Both versions' `monitor` packages are imported into one process (bench.classify_ab.load) and timed on
the same items in alternating rounds, the minimum over the rounds of this process's CPU time. The
rule matches are found once per version, outside the clock; "decide + relevance" is then what
Classifier.classify does with them: _decide, and for items a label passed, the relevance model with
the version's shipped weights (the per-label choice, relevance.label_features and relevance.kept,
where the version has it; else one dot product over the item's features). Whole Classifier.classify
is timed too. Columns: dev.jsonl's texts and the snapshot feeds' items.
"""

from __future__ import annotations

import itertools
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.classify_ab import ROOT, ab_arguments, load, real_columns


def decide_seconds(clf: Any, relevance: Any, prepared: list[tuple[str, str, list[Any]]]) -> float:
    """CPU seconds of the decide step over the prepared (language, text, hits) of the items."""
    model = clf._choices.relevance
    per_label = hasattr(clf, "label_features")
    start = time.process_time()
    for lang, text, hits in prepared:
        labels, _ = clf._decide(hits)
        if labels and model is not None:
            if per_label:
                relevance.kept(model, clf.label_features(lang, text, hits, labels))
            else:
                model.accepts(clf.relevance_features(lang, text, hits))
    return time.process_time() - start


def main() -> int:
    args = ab_arguments(__doc__, 3000)
    versions = {"base": load(args.base.resolve()), "this": load(ROOT)}
    relevance = {name: version[0].relevance for name, version in versions.items()}  # each classify module's own
    columns = real_columns()
    for column, distinct in columns.items():
        if not distinct:
            print(f"{column}: not found (../shared/eval or $MONITOR_EVAL_DIR); left out")
            continue
        items = list(itertools.islice(itertools.cycle(distinct), args.items))
        prepared = {name: [v[2].hits(item) for item in items] for name, v in versions.items()}
        for _, _, clf in versions.values():  # indexes are built on first use: not timed
            for item in distinct:
                clf.classify(item)
        best: dict[str, dict[str, float]] = {name: {} for name in versions}
        for _ in range(args.rounds):
            for name, (_, _, clf) in versions.items():
                spent = {"decide + relevance": decide_seconds(clf, relevance[name], prepared[name])}
                start = time.process_time()
                for item in items:
                    clf.classify(item)
                spent["classify"] = time.process_time() - start
                for stage, seconds in spent.items():
                    best[name][stage] = min(best[name].get(stage, seconds), seconds)
        print(f"{column}: {len(items)} items, min of {args.rounds} rounds; CPU µs per item, base -> this")
        for stage, seconds in best["base"].items():
            before, after = seconds / len(items) * 1e6, best["this"][stage] / len(items) * 1e6
            print(f"  {stage:22} {before:9.1f} -> {after:9.1f}  ({after / before:.2f}x the time)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
