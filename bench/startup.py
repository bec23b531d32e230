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
import resource
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


def run(args: list[str], tree: Path, home: Path) -> tuple[float, float]:
    """Wall-clock and CPU (user + system) seconds of one process."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HOME": str(home)}
    env = {k: v for k, v in env.items() if not k.startswith(("CEASEFIRE_MONITOR_", "XDG_STATE"))}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], cwd=tree, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


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
    times: dict[tuple[str, str], list[tuple[float, float]]] = {(name, label): [] for name, _, label, _ in plan}
    for _, tree, _, argv in plan:  # warm the file cache once
        run(argv, tree, home)
    for _ in range(args.repeat):
        for name, tree, label, argv in plan:
            times[(name, label)].append(run(argv, tree, home))
    base = statistics.median(w for w, _ in times[("this", "python -c pass")])
    cpu_base = statistics.median(c for _, c in times[("this", "python -c pass")])
    print(f"cold start-up, median of {args.repeat} rounds (cores: {os.cpu_count()}, load: "
          f"{os.getloadavg()[0]:.1f}); CPU = user + system time of the process, less sensitive to load")
    print(f"{'case':<38} {'wall s':>7} {'min s':>7} {'x pass':>7} {'CPU s':>7} {'x pass':>7}")
    for (name, label), values in times.items():
        shown = label if name == "this" else f"{label} [{args.tree}]"
        wall, cpu = statistics.median(w for w, _ in values), statistics.median(c for _, c in values)
        print(f"{shown:<38} {wall:7.3f} {min(w for w, _ in values):7.3f} {wall / base:7.1f} {cpu:7.3f} "
              f"{cpu / cpu_base:7.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
