"""Cost of place extraction on real texts, beside same-run baselines.

    taskset -c 0 .venv/bin/python -m bench.place_speed [--rounds 5] [--tree OTHER_CHECKOUT]

Texts: dev.jsonl's texts and the snapshot feeds' items (bench/real_text.py), title and text joined as
Classifier.classify joins them. Places are extracted only from the items classify finds relevant, so
the place rows run on those; the classify row runs on every item. Rows, in CPU seconds of this process
(the best of --rounds rounds) per 1,000 texts and as texts per CPU second:

  str.lower                  the floor of any text processing (all items)
  Classifier.classify        the whole classifier (all items)
  scan_names                 the first stage of place extraction (relevant items)
  extract_places             the whole place stage, with the learned place model (relevant items)

`place share` is the place stage's part of classify: extract_places over the relevant items divided by
classify over all items. With --tree, the same is measured on another checkout (e.g. main before a
change: `git archive main | tar -x -C /tmp/before`) in a child process, round by round in turn with
this one, and the ratios other/this are printed: how many times faster this checkout is.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = ("str.lower", "Classifier.classify", "scan_names", "extract_places")


def measure(rounds: int) -> dict[str, dict[str, float]]:
    """Per column, per row: the best CPU seconds per text over `rounds` rounds; and the counts."""
    from bench.real_text import dev_items, snapshot_items
    from monitor.reading.classify import Classifier, _join
    from monitor.reading.gazetteer import load_gazetteer
    from monitor.reading.place_scan import scan_names
    from monitor.reading.places import extract_places

    classifier = Classifier.from_settings()
    gazetteer = load_gazetteer()
    model = classifier._choices.place
    out: dict[str, dict[str, float]] = {}
    for column, items in (("dev.jsonl texts", dev_items()), ("snapshot items", snapshot_items())):
        if not items:
            continue
        texts = [_join(it.title, it.text) for it in items]
        relevant = [t for it, t in zip(items, texts, strict=True) if classifier.classify(it).relevant]
        runs: dict[str, Callable[[], object]] = {
            "str.lower": lambda texts=texts: [t.lower() for t in texts],
            "Classifier.classify": lambda items=items: [classifier.classify(it) for it in items],
            "scan_names": lambda relevant=relevant: [scan_names(t, gazetteer) for t in relevant],
            "extract_places": lambda relevant=relevant: [extract_places(t, "en", gazetteer, model)
                                                         for t in relevant],
        }
        counts = {"str.lower": len(texts), "Classifier.classify": len(items), "scan_names": len(relevant),
                  "extract_places": len(relevant)}
        best = {row: float("inf") for row in ROWS}
        for _ in range(rounds):
            for row, run in runs.items():
                start = time.process_time()
                run()
                best[row] = min(best[row], (time.process_time() - start) / counts[row])
        out[column] = {**best, "items": len(items), "relevant": len(relevant)}
    return out


def child(tree: Path, rounds: int) -> dict[str, dict[str, float]]:
    """measure() run on the checkout `tree`, in a fresh interpreter."""
    code = (f"import sys, json, importlib.util as u; sys.path[:0] = [{str(tree)!r}]; "
            f"s = u.spec_from_file_location('place_speed', {__file__!r}); p = u.module_from_spec(s); "
            f"s.loader.exec_module(p); print(json.dumps(p.measure({rounds})))")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, check=True, capture_output=True, text=True)
    result: dict[str, dict[str, float]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def show(name: str, figures: dict[str, dict[str, float]]) -> None:
    print(f"{name}: CPU ms per 1,000 texts (texts per CPU second)")
    for column, cells in figures.items():
        print(f"  {column}: {cells['items']:.0f} items, {cells['relevant']:.0f} relevant")
        for row in ROWS:
            print(f"    {row:22} {cells[row] * 1e6:10,.0f} ms {1 / cells[row]:12,.0f}/s")
        share = cells["extract_places"] * cells["relevant"] / (cells["Classifier.classify"] * cells["items"])
        print(f"    {'place share':22} {share:10.1%}   extract_places / str.lower: "
              f"{cells['extract_places'] / cells['str.lower']:,.0f}x")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5, help="rounds; the best of them is kept (default 5)")
    ap.add_argument("--tree", type=Path, help="another checkout to measure beside this one")
    args = ap.parse_args()
    if args.tree is None:
        show("this checkout", measure(args.rounds))
        return 0
    # Alternate whole child runs, so a busy machine slows both alike; keep each one's best.
    mine: list[dict[str, dict[str, float]]] = []
    other: list[dict[str, dict[str, float]]] = []
    for _ in range(args.rounds):
        mine.append(child(ROOT, 2))
        other.append(child(args.tree.resolve(), 2))
    this_best, other_best = _best(mine), _best(other)
    show("this checkout", this_best)
    show(f"other checkout {args.tree}", other_best)
    print("other / this (how many times less CPU this checkout takes)")
    for column, cells in this_best.items():
        print(f"  {column}: " + ", ".join(f"{row} {other_best[column][row] / cells[row]:.2f}x" for row in ROWS))
    return 0


def _best(runs: list[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    return {column: {key: min(run[column][key] for run in runs) for key in runs[0][column]}
            for column in runs[0]}


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    sys.exit(main())
