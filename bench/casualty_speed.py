"""Speed of casualty extraction on real texts, beside a same-run baseline and another revision's.

    taskset -c 0 .venv/bin/python -m bench.casualty_speed [--rounds 5] [--compare main]

Texts: dev.jsonl's items and the snapshot feeds' items (bench/real_text.py), title and text joined as
the classifier joins them. Rows, timed in the same run on the same texts, in alternating rounds (the
machine is shared: alternation spreads its load over every row): `str.lower` (the floor of any text
processing), extract_casualties of this checkout (rules alone), and with --compare REV the same
function of casualties.py as git revision REV has it (read with `git show`, loaded beside this one);
each as the rules alone (extract_casualties without a model), as figure_rows (the figures and their
features), and as Classifier.classify's casualty stage: extract_casualties with its casualty model, on
the texts it finds relevant, with their attack offsets (µs per item counted over all items, as
bench.classify_speed's stage rows count them).
Figures are texts per CPU second of this process, the best round; compare by the ratios.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_text import ROOT, dev_items, snapshot_items
from monitor.models import FeedItem
from monitor.reading import casualties
from monitor.reading.choice import Model

# figure_rows (what Classifier.classify runs, with its casualty model) needs a publication year and the
# attack phrases' offsets: a fixed year and one offset near the start, the same for every row.
YEAR = 2024
ATTACK_AT = (10,)


def revision_module(rev: str) -> ModuleType:
    """casualties.py as revision `rev` has it, imported under another name."""
    source = subprocess.run(["git", "show", f"{rev}:monitor/reading/casualties.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / f"casualties_{rev.replace('/', '_')}.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load casualties.py of {rev}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def cpu_rate(fn: Callable[[Any], object], texts: list[Any]) -> float:
    start = time.process_time()
    for text in texts:
        fn(text)
    return len(texts) / max(time.process_time() - start, 1e-9)


StageArgs = tuple[str, str, "int | None", list[int]]


def classify_stage_inputs(items: list[FeedItem]) -> tuple[list[StageArgs], Model | None]:
    """What Classifier.classify passes to extract_casualties for each item it finds relevant (text,
    language, publication year, attack offsets; the same calls as bench.classify_speed's stage rows),
    and its casualty model."""
    from monitor.reading import classify as c

    classifier = c.Classifier.from_settings()
    out: list[StageArgs] = []
    for item in items:
        lang = c.detect_lang(item, tuple(classifier._rules.languages))
        rules, text = classifier._rules.for_lang(lang), c._join(item.title, item.text)
        year = item.published_at.year if item.published_at else None
        hits, _ = c._label_hits(rules, text, year)
        labels, why = classifier._decide(hits)
        labels, _ = classifier.relevant_labels(lang, text, hits, c._group(hits), labels, why)
        if labels:
            out.append((text, lang, year, [h.at for h in hits if h.attack]))
    return out, classifier._choices.casualty


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--compare", metavar="REV", help="also time casualties.py of this git revision (e.g. main)")
    args = ap.parse_args()
    items = [*dev_items(), *snapshot_items()]
    if not items:
        print("no real texts (../shared/eval missing): nothing to measure", file=sys.stderr)
        return 2
    texts = [f"{item.title}\n{item.text}" for item in items]
    stage, model = classify_stage_inputs(items)
    rows: dict[str, tuple[Callable[[Any], object], list[Any]]] = {
        "str.lower": (str.lower, texts),
        "extract_casualties (this checkout)": (lambda t: casualties.extract_casualties(t, "en"), texts),
        "figure_rows (this checkout)": (lambda t: casualties.figure_rows(t, YEAR, ATTACK_AT), texts),
        "classify stage (this checkout)": (lambda a: casualties.extract_casualties(a[0], a[1], model, a[2], a[3]),
                                           stage)}
    if args.compare:
        other = revision_module(args.compare)
        rows[f"extract_casualties ({args.compare})"] = (lambda t: other.extract_casualties(t, "en"), texts)
        rows[f"figure_rows ({args.compare})"] = (lambda t: other.figure_rows(t, YEAR, ATTACK_AT), texts)
        rows[f"classify stage ({args.compare})"] = (
            lambda a: other.extract_casualties(a[0], a[1], model, a[2], a[3]), stage)
    for fn, inputs in rows.values():  # warm up: compiled patterns, caches
        for one in inputs[:50]:
            fn(one)
    best = dict.fromkeys(rows, 0.0)
    for _ in range(args.rounds):
        for name, (fn, inputs) in rows.items():
            best[name] = max(best[name], cpu_rate(fn, inputs))
    floor = best["str.lower"]
    print(f"{len(texts)} real texts (dev.jsonl + snapshot feeds), best of {args.rounds} rounds, CPU time; "
          f"the classify stage rows run on the {len(stage)} texts classify finds relevant, with its casualty model")
    print(f"{'':40}{'texts/CPU s':>14}{'x str.lower':>14}")
    for name, value in best.items():
        print(f"{name:40}{value:14.0f}{floor / value:14.1f}")
    if args.compare:
        for row in ("extract_casualties", "figure_rows", "classify stage"):
            mine, theirs = best[f"{row} (this checkout)"], best[f"{row} ({args.compare})"]
            # µs per item of all the items, as bench.classify_speed's stage rows count them
            share = len(stage) / len(texts) if row == "classify stage" else 1.0
            print(f"{row}: this checkout / {args.compare}: {mine / theirs:.2f}x the speed "
                  f"({1e6 * share / mine:.0f} µs per item, {args.compare} {1e6 * share / theirs:.0f} µs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
