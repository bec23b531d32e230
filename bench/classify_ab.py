"""In-process A/B of Classifier.classify's rule stages: another version's code vs this checkout's.

    git archive main monitor | tar -x -C /tmp/base
    taskset -c 0 .venv/bin/python -m bench.classify_ab /tmp/base [--items 2000] [--rounds 5]

Both versions' `monitor` packages are imported into one process (the base's first, then this
checkout's) and timed on the same items in alternating rounds; each figure is the minimum over the
rounds of the CPU time of this process (the machine is shared: the minimum is the least disturbed).
Rows: the stages this comparison is about (rules, decide + relevance, dates, actors, weapons, timed
one by one as classify_speed.stage_rows does) and their sum, in CPU µs per item, and whole
Classifier.classify in items per CPU second. Columns: dev.jsonl's texts and the snapshot feeds' items.
"""

from __future__ import annotations

import argparse
import importlib
import itertools
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.real_text import dev_items, snapshot_items  # noqa: E402

STAGES = ("rules", "decide + relevance", "dates", "actors", "weapons")


def ab_arguments(description: str | None, default_items: int) -> argparse.Namespace:
    """The command line every in-process A/B bench takes: the other version's folder, --items, --rounds."""
    ap = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base", type=Path, help="a folder holding the other version's monitor package")
    ap.add_argument("--items", type=int, default=default_items, help="items per column (each set is cycled to this)")
    ap.add_argument("--rounds", type=int, default=5)
    return ap.parse_args()


def real_columns() -> dict[str, list[Any]]:
    """The real texts the A/B benches time: dev.jsonl's items and the snapshot feeds' items."""
    return {"dev.jsonl texts": dev_items(), "snapshot items": snapshot_items()}


def load(root: Path) -> tuple[ModuleType, dict[str, ModuleType], Any]:
    """The classify module, its stage modules and a Classifier, imported from the package in `root`."""
    for name in [n for n in sys.modules if n == "monitor" or n.startswith("monitor.")]:
        del sys.modules[name]  # the other version's modules stay alive through its objects
    sys.path.insert(0, str(root))
    try:
        classify = importlib.import_module("monitor.reading.classify")
        stages = {n: importlib.import_module(f"monitor.reading.{n}") for n in ("dates", "actors", "places")}
    finally:
        sys.path.remove(str(root))
    if not str(classify.__file__).startswith(str(root)):
        raise SystemExit(f"{root}: no monitor package there")
    return classify, stages, classify.Classifier.from_settings()


def stage_times(version: tuple[ModuleType, dict[str, ModuleType], Any], items: list[Any]) -> dict[str, float]:
    """CPU seconds of each stage over `items` (the calls Classifier.classify makes, timed one by one)."""
    c, mods, clf = version
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    for item in items:
        lang = c.detect_lang(item, tuple(clf._rules.languages))
        rules, text = clf._rules.for_lang(lang), c._join(item.title, item.text)
        year = item.published_at.year if item.published_at else None
        t0 = clock()
        hits, scanned = c._label_hits(rules, text, year)
        t1 = clock()
        labels, why = clf._decide(hits)
        if hasattr(clf, "relevant_labels"):  # per-label relevance
            labels, _ = clf.relevant_labels(lang, text, hits, c._group(hits), labels, why)
        else:
            model = clf._choices.relevance
            if labels and model is not None:
                model.accepts(clf.relevance_features(lang, text, hits))
        t2 = clock()
        spent["rules"] += t1 - t0
        spent["decide + relevance"] += t2 - t1
        if not labels:
            continue
        found = mods["places"].extract_places(text, lang, clf._gazetteer, clf._choices.place,
                                              [h.at for h in hits if h.attack])
        t3 = clock()
        mods["dates"].resolve_event_date(text, lang, c._local_publication(item.published_at, found.primary))
        t4 = clock()
        mods["actors"].armed_groups(text)
        t5 = clock()
        c._weapons(rules, text, scanned)
        t6 = clock()
        spent["dates"] += t4 - t3
        spent["actors"] += t5 - t4
        spent["weapons"] += t6 - t5
    return spent


def main() -> int:
    args = ab_arguments(__doc__, 2000)
    columns = real_columns()
    versions = {"base": load(args.base.resolve()), "this": load(ROOT)}
    for _, _, clf in versions.values():  # indexes are built on first use: not timed
        for item in itertools.chain(*columns.values()):
            clf.classify(item)
    for column, distinct in columns.items():
        if not distinct:
            print(f"{column}: not found (../shared/eval or $MONITOR_EVAL_DIR); left out")
            continue
        items = list(itertools.islice(itertools.cycle(distinct), args.items))
        best: dict[str, dict[str, float]] = {name: {} for name in versions}
        for _ in range(args.rounds):
            for name, version in versions.items():
                spent = stage_times(version, items)
                spent["sum of these stages"] = sum(spent.values())
                start = time.process_time()
                for item in items:
                    version[2].classify(item)
                spent["classify"] = time.process_time() - start
                for stage, seconds in spent.items():
                    best[name][stage] = min(best[name].get(stage, seconds), seconds)
        print(f"{column}: {len(items)} items, min of {args.rounds} rounds; CPU µs per item, base -> this (speed-up)")
        for stage, seconds in best["base"].items():
            before, after = seconds / len(items) * 1e6, best["this"][stage] / len(items) * 1e6
            if stage == "classify":
                rates = f"{1e6 / before:9,.0f} -> {1e6 / after:9,.0f}"
                print(f"  {'classify, items/s':22} {rates}  ({before / after:.2f}x)")
            else:
                print(f"  {stage:22} {before:9.1f} -> {after:9.1f}  ({before / after:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
