"""Place and country accuracy of the place extraction alone, on the gold-relevant labelled items.

    .venv/bin/python bench/place_accuracy.py [--eval-dir ../shared/eval] [--tree OTHER_CHECKOUT] [--rules]

The official scorer counts an item's country and place wrong when the classifier misses the item;
this measures the place work by itself: every relevant, non-unsure item of dev.jsonl,
acled-dev.jsonl and train-news.jsonl goes through monitor.reading.places.extract_places (with the
shipped place model, or the rules alone with --rules), and its primary country and place are
scored by score.py's rules. --tree measures another checkout (e.g. `git archive <commit> | tar -x
-C /tmp/before`) in a child interpreter, so both columns come from the same run. These are
in-sample figures for the place model: scripts/fit_weights.py prints the country-fold ones.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FILES = ("dev.jsonl", "acled-dev.jsonl", "train-news.jsonl")
# Run in the child with the checkout to measure first on sys.path; prints one JSON object.
CHILD = """
import importlib.util, json, sys
sys.path.insert(0, sys.argv[1])
from monitor.models import FeedItem
from monitor.reading import places
from monitor.reading.choice import load_choices
from monitor.reading.classify import Classifier
from monitor.reading.gazetteer import load_gazetteer
eval_dir, rules_only = sys.argv[2], sys.argv[3] == "1"
spec = importlib.util.spec_from_file_location("score", f"{eval_dir}/score.py")
score = importlib.util.module_from_spec(spec)
spec.loader.exec_module(score)
classifier, gazetteer = Classifier.from_settings(), load_gazetteer()
model = None if rules_only else load_choices().place
out = {}
for name in sys.argv[4:]:
    tally = {"country": [0, 0], "place": [0, 0]}
    for row in score.read_jsonl(f"{eval_dir}/{name}"):
        if not row.get("labels") or row.get("unsure"):
            continue
        item = FeedItem(title=row.get("title") or "", text=row.get("text") or "", lang=row.get("lang"))
        lang, text, hits = classifier.hits(item)
        found = places.extract_places(text, lang, gazetteer, model, [h.at for h in hits if h.attack])
        p = found.primary
        pred = None if p is None else {"name": p.name, "country": p.country, "lat": p.lat, "lon": p.lon}
        if row.get("country"):
            tally["country"][1] += 1
            tally["country"][0] += bool(found.countries) and found.countries[0] in row["country"]
        if row.get("place"):
            tally["place"][1] += 1
            tally["place"][0] += score.place_ok(row["place"], pred, list(found.countries))
    out[name] = tally
print(json.dumps(out))
"""


def measure(tree: Path, eval_dir: Path, rules_only: bool, files: list[str]) -> dict[str, dict[str, list[int]]]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(eval_dir), "1" if rules_only else "0",
                           *files], capture_output=True, text=True, check=True)
    result: dict[str, dict[str, list[int]]] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--eval-dir", type=Path, default=ROOT.parent / "shared" / "eval")
    ap.add_argument("--tree", type=Path, help="another checkout to measure beside this one")
    ap.add_argument("--rules", action="store_true", help="the rules alone, without the place model")
    args = ap.parse_args()
    files = [name for name in FILES if (args.eval_dir / name).is_file()]
    if not files or not (args.eval_dir / "score.py").is_file():
        print(f"skipped: no labelled files and score.py in {args.eval_dir}")
        return 0
    trees = {"this checkout": ROOT}
    if args.tree is not None:
        trees[str(args.tree)] = args.tree.resolve()
    results = {name: measure(tree, args.eval_dir.resolve(), args.rules, files) for name, tree in trees.items()}
    print("gold-relevant items, extract_places alone" + (" (rules only)" if args.rules else " (shipped model)"))
    print(f"{'file':26}{'n':>6}" + "".join(f"{name[-24:]:>26}" for name in results))
    for file in files:
        for key in ("country", "place"):
            n = next(iter(results.values()))[file][key][1]
            cells = [f"{r[file][key][0] / max(r[file][key][1], 1):.3f}" for r in results.values()]
            print(f"{file + ' ' + key:26}{n:6d}" + "".join(f"{c:>26}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
