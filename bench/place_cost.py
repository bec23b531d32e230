"""What place extraction costs: extract_places CPU time on real texts, against another checkout.

    .venv/bin/python bench/place_cost.py --tree OTHER_CHECKOUT [FILE.jsonl ...] [--rounds 3]

Runs monitor.reading.places.extract_places (shipped place model) over the title and text of every
item of the given JSON Lines files (default: dev.jsonl and acled-dev.jsonl of /work/shared/eval),
once with this checkout and once with OTHER_CHECKOUT (e.g. `git archive <commit> | tar -x -C
/tmp/before`), each in a fresh interpreter, alternating round by round so both see the same machine
load. Prints the best round's CPU microseconds per text of each and their ratio, in total and for its
parts (the scan, what is left beside it, and its largest stages: _resolve, place_choice.features,
_agreeing_pairs, ...), timed in a second pass with the parts wrapped in CPU timers. One-off
costs (the gazetteer's first lookups, built-on-first-use tables) are paid before timing starts.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [Path("/work/shared/eval") / name for name in ("dev.jsonl", "acled-dev.jsonl")]
# Run in the child, with the checkout to time first on sys.path: prints CPU seconds for all texts.
CHILD = """
import json, sys, time
sys.path.insert(0, sys.argv[1])
from monitor.reading import place_choice, places
from monitor.reading.choice import load_choices
from monitor.reading.gazetteer import load_gazetteer
texts = json.load(sys.stdin)
gazetteer, model = load_gazetteer(), load_choices().place
for text in texts:
    places.extract_places(text, "en", gazetteer, model)
started = time.process_time()
for text in texts:
    places.extract_places(text, "en", gazetteer, model)
total = time.process_time() - started
# A second pass with the parts wrapped in CPU timers (the wrappers add a little to each part).
spent = {}
def timed(module, name):
    inner = getattr(module, name, None)
    if inner is None:
        return
    def wrapper(*args, **kwargs):
        t0 = time.process_time()
        try:
            return inner(*args, **kwargs)
        finally:
            spent[name] = spent.get(name, 0.0) + time.process_time() - t0
    setattr(module, name, wrapper)
for module, name in PARTS:
    timed(place_choice if module == "place_choice" else places, name)
started = time.process_time()
for text in texts:
    places.extract_places(text, "en", gazetteer, model)
wrapped = time.process_time() - started
# What is left beside the scan, from the same (wrapped) pass as the scan's own time.
print(json.dumps({"total": total, "outside the scan": wrapped - spent.get("scan_names", 0.0), **spent}))
"""
# The parts of extract_places timed in the second pass: the scan, then the largest stages beside it.
PARTS = [("places", "scan_names"), ("places", "_resolve"), ("place_choice", "features"),
         ("places", "_agreeing_pairs"), ("places", "_district_containers"), ("places", "_near_each_other"),
         ("places", "_offset"), ("places", "_the_capital"), ("place_choice", "choose")]
CHILD = CHILD.replace("PARTS", repr(PARTS))


def cpu_seconds(tree: Path, payload: str) -> dict[str, float]:
    """CPU seconds of extract_places over all texts ("total"), and of its parts, in a fresh interpreter."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(tree)], input=payload, capture_output=True,
                         text=True, check=True)
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--tree", type=Path, required=True, help="the other checkout (the baseline)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    files = [f for f in args.files if f.exists()]
    if not files:
        print("skipped: none of the files exists (pass JSON Lines files with title/text)")
        return 0
    texts = []
    for f in files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('title') or ''}\n{row.get('text') or ''}")
    payload = json.dumps(texts)
    trees = {"this checkout": ROOT, f"baseline {args.tree}": args.tree.resolve()}
    best: dict[str, dict[str, float]] = {}
    for _ in range(args.rounds):
        for name, tree in trees.items():
            seconds = cpu_seconds(tree, payload)
            best[name] = {part: min(best.get(name, seconds)[part], value) for part, value in seconds.items()}
    print(f"{len(texts)} texts, best of {args.rounds} rounds, CPU of the extracting process, µs/text")
    parts = ["total", "outside the scan", *(name for _, name in PARTS)]
    print(f"  {'':40} " + " ".join(f"{part[:16]:>16}" for part in parts))
    for name, seconds in best.items():
        print(f"  {name[:40]:40} " + " ".join(f"{seconds.get(part, 0.0) / len(texts) * 1e6:16.1f}" for part in parts))
    mine, baseline = best["this checkout"], best[f"baseline {args.tree}"]
    print("  baseline/this (times less CPU): " + ", ".join(
        f"{part} {baseline[part] / mine[part]:.2f}x" for part in parts if mine.get(part) and baseline.get(part)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
