"""Cold start-up: fresh interpreters running `classify --title x`, loading the classifier and the
gazetteer, beside the bare `python -c pass` and `import monitor` baselines of the same run.

    .venv/bin/python bench/startup.py [--repeat 9] [--tree OTHER_CHECKOUT]

Each case is a new process, timed from spawn to exit; the cases take turns, round after round, so a
busy machine slows them alike; the median of the rounds is reported, with its ratio to the
`python -c pass` baseline. --tree also times the same cases on another checkout of the repository
(e.g. `git archive <commit> | tar -x -C /tmp/before`) through PYTHONPATH, in the same rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES: list[tuple[str, list[str]]] = [
    ("python -c pass", ["-c", "pass"]),
    ("import monitor", ["-c", "import monitor"]),
    ("load gazetteer", ["-c", "from monitor.reading.gazetteer import load_gazetteer; load_gazetteer()"]),
    ("load classifier", ["-c", "from monitor.reading.classify import Classifier; Classifier.from_settings()"]),
    ("classify --title x", ["-m", "monitor", "classify", "--title", "x"]),
]
BASELINES = 2  # the first cases: the same for every tree


def run(args: list[str], tree: Path, home: Path) -> float:
    env = {**os.environ, "PYTHONPATH": str(tree), "HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith(("CEASEFIRE_MONITOR_", "XDG_STATE"))}
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=9, help="rounds (default 9)")
    ap.add_argument("--tree", type=Path, help="another checkout to time beside this one")
    args = ap.parse_args()
    home = Path(os.environ.get("TMPDIR", "/tmp")) / "cfm-startup-home"  # no config, no local index
    home.mkdir(exist_ok=True)
    trees = [("this", ROOT)] + ([("other", args.tree.resolve())] if args.tree else [])
    plan = [(name, tree, label, argv) for name, tree in trees for i, (label, argv) in enumerate(CASES)
            if name == "this" or i >= BASELINES]
    times: dict[tuple[str, str], list[float]] = {(name, label): [] for name, _, label, _ in plan}
    for _, tree, _, argv in plan:  # warm the file cache once
        run(argv, tree, home)
    for _ in range(args.repeat):
        for name, tree, label, argv in plan:
            times[(name, label)].append(run(argv, tree, home))
    base = statistics.median(times[("this", "python -c pass")])
    print(f"cold start-up, median of {args.repeat} rounds (cores: {os.cpu_count()}, load: "
          f"{os.getloadavg()[0]:.1f})")
    print(f"{'case':<34} {'median s':>9} {'min s':>7} {'x python -c pass':>17}")
    for (name, label), values in times.items():
        shown = label if name == "this" else f"{label} [{args.tree}]"
        median = statistics.median(values)
        print(f"{shown:<34} {median:9.3f} {min(values):7.3f} {median / base:17.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
