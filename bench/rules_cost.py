"""What a change to the rule files and weights costs: the classifier with this tree's rules beside a git revision's.

    taskset -c 0 .venv/bin/python -m bench.rules_cost [--rev main] [--rounds 3]

Both classifiers share this tree's code and gazetteer; only monitor/data/rules/*.toml and
monitor/data/choice.json differ (the revision's are read with `git show`, nothing is checked out).
Items: dev.jsonl's texts and the snapshot feeds' items (bench/real_text.py). Figures are items per CPU
second of this process, best of --rounds interleaved rounds, and the ratio this tree / the revision.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.choice_cost import rate  # classify items per CPU second
from bench.real_text import ROOT, dev_items, snapshot_items
from monitor.reading.choice import load_choices, read_choices
from monitor.reading.classify import Classifier
from monitor.reading.gazetteer import load_gazetteer
from monitor.reading.rules import load_ruleset
from monitor.settings import ClassifySettings


def revision_files(rev: str, folder: Path) -> bool:
    """Write the revision's rule files and weights into `folder`; False when git cannot give them."""
    for path in ("monitor/data/rules/en.toml", "monitor/data/rules/ru.toml", "monitor/data/choice.json"):
        shown = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{path}"], capture_output=True, text=True)
        if shown.returncode != 0:
            print(f"skipped: git show {rev}:{path} failed ({shown.stderr.strip()})")
            return False
        (folder / Path(path).name).write_text(shown.stdout, encoding="utf-8")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rev", default="main", help="the git revision to compare with (default: main)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    columns = {"dev.jsonl": dev_items(), "snapshots": snapshot_items()}
    if not any(columns.values()):
        print("skipped: no evaluation texts (../shared/eval or $MONITOR_EVAL_DIR)")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if not revision_files(args.rev, folder):
            return 0
        settings = ClassifySettings()
        gazetteer = load_gazetteer()
        theirs = Classifier(load_ruleset(settings.languages, folder), gazetteer, settings,
                            read_choices(folder / "choice.json"))
        ours = Classifier(load_ruleset(settings.languages), gazetteer, settings, load_choices())
        for name, items in columns.items():
            if not items:
                print(f"{name}: no items")
                continue
            for classifier in (theirs, ours):  # warm both (compiled patterns, gazetteer look-ups)
                rate(classifier, items[:50])
            best = {"revision": 0.0, "this tree": 0.0}
            for _ in range(args.rounds):
                best["revision"] = max(best["revision"], rate(theirs, items))
                best["this tree"] = max(best["this tree"], rate(ours, items))
            flagged = sum(ours.classify(item).relevant for item in items), sum(theirs.classify(item).relevant
                                                                               for item in items)
            print(f"{name}: {len(items)} items, best of {args.rounds} rounds; labelled {flagged[1]} -> {flagged[0]}")
            print(f"  {args.rev:14} {best['revision']:9,.0f} items/CPU-s")
            print(f"  {'this tree':14} {best['this tree']:9,.0f} items/CPU-s")
            print(f"  ratio this tree / {args.rev}: {best['this tree'] / best['revision']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
