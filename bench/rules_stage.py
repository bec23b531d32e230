"""CPU cost of classify's rules stage (label matches: classify._label_hits) on real texts, this tree beside a revision.

    taskset -c 0 .venv/bin/python -m bench.rules_stage [--rev main] [--rounds 5]

The revision's code is exported with `git archive` into a temporary folder (nothing is checked out) and
both trees are timed in child processes, alternately, round after round, on the same items: dev.jsonl's
texts and the snapshot feeds' items (bench/real_text.py). Each child prints, per column, the rules stage
in CPU µs per item (best of a few passes) and Classifier.classify in items per CPU second; the figures
are the best over --rounds rounds, and the ratio this tree / the revision. On a shared machine the
ratios are the steadier figures.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
_PASSES = 9  # timed passes of the rules stage per child process, best taken
_CLASSIFY_EVERY = 3  # ... and of classify, after every third of them


def measure(tree: Path) -> dict[str, dict[str, float]]:
    """In a child process: the rules stage and classify, timed with `tree`'s monitor package."""
    sys.path.insert(0, str(tree))
    sys.path.insert(1, str(ROOT))  # bench.real_text from this tree when the revision has none
    from bench.real_text import dev_items, snapshot_items
    from monitor.reading import classify as c

    classifier = c.Classifier.from_settings()
    out: dict[str, dict[str, float]] = {}
    for name, items in (("dev.jsonl", dev_items()), ("snapshots", snapshot_items())):
        if not items:
            continue
        prepared = []
        for item in items:
            lang = c.detect_lang(item, tuple(classifier._rules.languages))
            year = item.published_at.year if item.published_at else None
            prepared.append((classifier._rules.for_lang(lang), c._join(item.title, item.text), year))
        for args in prepared:  # warm: compiled patterns, indexes built on first use
            c._label_hits(*args)
        for item in items:
            classifier.classify(item)
        stage = classify = float("inf")
        for done in range(1, _PASSES + 1):
            start = time.process_time()
            for args in prepared:
                c._label_hits(*args)
            stage = min(stage, (time.process_time() - start) / len(prepared) * 1e6)
            if done % _CLASSIFY_EVERY:
                continue
            start = time.process_time()
            for item in items:
                classifier.classify(item)
            classify = min(classify, (time.process_time() - start) / len(items))
        out[name] = {"items": len(items), "rules_us": stage, "classify_per_s": 1.0 / classify}
    return out


def _child(tree: Path) -> dict[str, dict[str, float]]:
    shown = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--worker", str(tree)],
                           capture_output=True, text=True, check=True)
    result: dict[str, dict[str, float]] = json.loads(shown.stdout.strip().splitlines()[-1])
    return result


def _export(rev: str, folder: Path) -> bool:
    """The revision's monitor package into `folder`; False when git cannot give it."""
    archive = folder / "rev.tar"
    made = subprocess.run(["git", "-C", str(ROOT), "archive", "-o", str(archive), rev, "monitor"],
                          capture_output=True, text=True)
    if made.returncode != 0:
        print(f"skipped: git archive {rev} failed ({made.stderr.strip()})")
        return False
    with tarfile.open(archive) as tar:
        tar.extractall(folder / "tree", filter="data")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="main", help="the git revision to compare with (default: main)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        print(json.dumps(measure(Path(args.worker))))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if not _export(args.rev, Path(tmp)):
            return 0
        trees = {args.rev: Path(tmp) / "tree", "this tree": ROOT}
        best: dict[str, dict[str, dict[str, Any]]] = {}
        for _ in range(args.rounds):
            for label, tree in trees.items():
                for column, figures in _child(tree).items():
                    kept = best.setdefault(label, {}).setdefault(column, dict(figures))
                    kept["rules_us"] = min(kept["rules_us"], figures["rules_us"])
                    kept["classify_per_s"] = max(kept["classify_per_s"], figures["classify_per_s"])
    if not best.get("this tree"):
        print("skipped: no evaluation texts (../shared/eval or $MONITOR_EVAL_DIR)")
        return 0
    print(f"best of {args.rounds} rounds x {_PASSES} passes ({_PASSES // _CLASSIFY_EVERY} for classify), "
          "CPU time of one process per tree and round")
    for column in best["this tree"]:
        ours, theirs = best["this tree"][column], best[args.rev][column]
        print(f"{column}: {ours['items']:.0f} items")
        print(f"  {'':12}{'rules stage µs/item':>22}{'classify items/CPU-s':>24}")
        for label in (args.rev, "this tree"):
            row = best[label][column]
            print(f"  {label:12}{row['rules_us']:>22,.1f}{row['classify_per_s']:>24,.0f}")
        print(f"  {'ratio':12}{ours['rules_us'] / theirs['rules_us']:>22.3f}"
              f"{ours['classify_per_s'] / theirs['classify_per_s']:>24.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
