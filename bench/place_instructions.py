"""Instructions the place stage executes per text, counted by valgrind: a figure the machine's load
does not move (CPU times on a shared 2-core machine swing by ±20% from run to run).

    .venv/bin/python bench/place_instructions.py [--tree OTHER_CHECKOUT] [FILE.jsonl ...] [--passes 5]

For each checkout (this one, and --tree if given) two interpreters run under `valgrind --tool=callgrind`:
one loads the gazetteer and model and runs extract_places once over the texts (the warm-up), the other
does the same and then --passes more passes. The difference of their instruction counts, divided by
passes x texts, is the place stage's instructions per text. Slow: some minutes per checkout.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT = [Path("/work/shared/eval/dev.jsonl")]
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from monitor.reading import places
from monitor.reading.choice import load_choices
from monitor.reading.gazetteer import load_gazetteer
texts = json.load(open(sys.argv[3], encoding="utf-8"))
gazetteer, model = load_gazetteer(), load_choices().place
for _ in range(1 + int(sys.argv[2])):
    for text in texts:
        places.extract_places(text, "en", gazetteer, model)
"""


def instructions(tree: Path, passes: int, payload: Path) -> int:
    """Instructions of an interpreter that warms up and then runs `passes` passes (valgrind's count)."""
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/cg.out", sys.executable,
                              "-c", CHILD, str(tree), str(passes), str(payload)],
                             capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", out.stderr)
    if found is None:
        raise SystemExit(f"valgrind gave no count:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="*", type=Path, default=DEFAULT)
    ap.add_argument("--tree", type=Path, help="another checkout (the baseline)")
    ap.add_argument("--passes", type=int, default=5)
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        print("skipped: valgrind is not installed")
        return 0
    import json
    texts = []
    for f in args.files:
        for line in f.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                texts.append(f"{row.get('title') or ''}\n{row.get('text') or ''}")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, encoding="utf-8") as payload:
        json.dump(texts, payload)
    trees = {"this checkout": ROOT, **({f"baseline {args.tree}": args.tree.resolve()} if args.tree else {})}
    per_text = {}
    for name, tree in trees.items():
        warm, run = (instructions(tree, p, Path(payload.name)) for p in (0, args.passes))
        per_text[name] = (run - warm) / (args.passes * len(texts))
        print(f"  {name[:50]:50} {per_text[name]:14,.0f} instructions per text")
    Path(payload.name).unlink()
    if args.tree:
        mine, base = per_text["this checkout"], per_text[f"baseline {args.tree}"]
        print(f"  this checkout executes {100 * (1 - mine / base):.1f}% fewer instructions than the baseline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
