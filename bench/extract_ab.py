"""In-process A/B of Classifier.classify's extraction stages and orchestration: another version vs this checkout.

    git archive main monitor | tar -x -C /tmp/base
    taskset -c 0 .venv/bin/python -m bench.extract_ab /tmp/base [--items 2000] [--rounds 5]

The stages of bench.classify_ab's comparison that it leaves out or times the old way: casualties,
dates, decide + relevance, actors and weapons, each called as that version's Classifier.classify
calls it (a version whose classify lower-cases the text once passes that text to the stages that take
it; its lower-casing is counted with the rules, as in bench.classify_speed's stage rows). Both
versions' `monitor` packages are imported into one process and timed on the same items in
alternating rounds; each figure is the minimum over the rounds of this process's CPU time (the
machine is shared). Rows: CPU µs per item (counted over all items, as the stage rows count them) and
their sum, and whole Classifier.classify in items per CPU second. Columns: dev.jsonl's texts and the
snapshot feeds' items.
"""

from __future__ import annotations

import importlib
import inspect
import itertools
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.classify_ab import ab_arguments, load, real_columns  # noqa: E402

STAGES = ("casualties", "dates", "decide + relevance", "actors", "weapons")


def stage_times(version: tuple[ModuleType, dict[str, ModuleType], Any], casualties: ModuleType,
                items: list[Any]) -> dict[str, float]:
    """CPU seconds of each stage over `items` (the calls Classifier.classify makes, timed one by one)."""
    c, mods, clf = version
    shared = "lowered" in inspect.signature(mods["dates"].resolve_event_date).parameters
    grouped = hasattr(c, "_group")
    lower_text = c.lower_text
    spent = dict.fromkeys(STAGES, 0.0)
    clock = time.process_time
    for item in items:
        lang = c.detect_lang(item, tuple(clf._rules.languages))
        rules, text = clf._rules.for_lang(lang), c._join(item.title, item.text)
        year = item.published_at.year if item.published_at else None
        low: tuple[str, ...] = (lower_text(text),) if shared else ()
        hits, scanned = c._label_hits(rules, text, year, *low)
        t0 = clock()
        model = clf._choices.relevance
        if grouped:
            groups = c._group(hits)
            labels, why = clf._decide_groups(groups)
            if hasattr(clf, "relevant_labels"):  # per-label relevance (this version)
                labels, _ = clf.relevant_labels(lang, text, hits, groups, labels, why)
            elif labels and model is not None:
                model.accepts(clf._features(lang, text, hits, groups))
        else:
            labels, _ = clf._decide(hits)
            if labels and model is not None:
                model.accepts(clf.relevance_features(lang, text, hits))
        t1 = clock()
        spent["decide + relevance"] += t1 - t0
        if not labels:
            continue
        attack_at = [h.at for h in hits if h.attack]
        found = mods["places"].extract_places(text, lang, clf._gazetteer, clf._choices.place, attack_at)
        t2 = clock()
        casualties.extract_casualties(text, lang, clf._choices.casualty, year, attack_at, *low)
        t3 = clock()
        mods["dates"].resolve_event_date(text, lang, c._local_publication(item.published_at, found.primary), *low)
        t4 = clock()
        mods["actors"].armed_groups(text, *low)
        t5 = clock()
        c._weapons(rules, text, scanned, *low)
        t6 = clock()
        spent["casualties"] += t3 - t2
        spent["dates"] += t4 - t3
        spent["actors"] += t5 - t4
        spent["weapons"] += t6 - t5
    return spent


def main() -> int:
    args = ab_arguments(__doc__, 2000)
    columns = real_columns()
    versions = {}
    for name, root in (("base", args.base.resolve()), ("this", ROOT)):
        version = load(root)
        casualties = importlib.import_module("monitor.reading.casualties")  # from the package just loaded
        if not str(casualties.__file__).startswith(str(root)):
            raise SystemExit(f"{root}: casualties.py not from there")
        versions[name] = (version, casualties)
        for item in itertools.chain(*columns.values()):  # indexes are built on first use: not timed
            version[2].classify(item)
    print(f"CPU µs per item (items/CPU s for classify), best of {args.rounds} alternating rounds, {args.items} items")
    print(f"{'':28}" + "".join(f"{f'{column}: base':>26}{'this':>10}{'this/base':>11}" for column in columns))
    rows: dict[str, list[str]] = {}
    for column, distinct in columns.items():
        if not distinct:
            print(f"{column}: not found (../shared/eval or $MONITOR_EVAL_DIR); left out")
            continue
        items = list(itertools.islice(itertools.cycle(distinct), args.items))
        best: dict[str, dict[str, float]] = {name: {} for name in versions}
        for _ in range(args.rounds):
            for name, (version, casualties) in versions.items():
                spent = stage_times(version, casualties, items)
                spent["sum of these stages"] = sum(spent.values())
                start = time.process_time()
                for item in items:
                    version[2].classify(item)
                spent["classify"] = time.process_time() - start
                for stage, seconds in spent.items():
                    best[name][stage] = min(best[name].get(stage, seconds), seconds)
        for stage in (*STAGES, "sum of these stages", "classify"):
            base, this = best["base"][stage], best["this"][stage]
            if stage == "classify":
                rate_base, rate_this = len(items) / base, len(items) / this
                rows.setdefault(stage + " items/s", []).append(
                    f"{rate_base:>26,.0f}{rate_this:>10,.0f}{rate_this / rate_base:>11.2f}")
            else:
                rows.setdefault(stage, []).append(
                    f"{base / len(items) * 1e6:>26.1f}{this / len(items) * 1e6:>10.1f}{this / base:>11.2f}")
    for stage, cells in rows.items():
        print(f"{stage:28}" + "".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
