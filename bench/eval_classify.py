"""Score the classifier on a labelled JSON Lines file (default: /work/shared/eval/dev.jsonl).

    .venv/bin/python bench/eval_classify.py [GOLD.jsonl] [--errors] [--out PRED.jsonl]

Runs Classifier.classify over every item, writes the §6 JSON Lines to --out (default
bench/out/classify.jsonl) and hands both files to the official scorer (score.py beside the gold
file), which prints precision/recall/F1 for `relevant` and each label, extraction accuracy and, with
--errors, every misclassified item. Exits 0 with a message when the gold file is absent.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.models import FeedItem
from monitor.reading.classify import Classifier

DEFAULT_GOLD = Path("/work/shared/eval/dev.jsonl")


def parse_time(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def to_item(row: dict[str, object]) -> FeedItem:
    text = row.get("text") or row.get("summary") or ""
    lang = row.get("lang")
    return FeedItem(title=str(row.get("title") or ""), text=str(text), published_at=parse_time(row.get("published")),
                    lang=lang if isinstance(lang, str) else None)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("gold", nargs="?", type=Path, default=DEFAULT_GOLD)
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "out" / "classify.jsonl")
    ap.add_argument("--errors", action="store_true", help="list every misclassified item")
    ap.add_argument("--scorer", type=Path, help="score.py to use (default: beside the gold file)")
    args = ap.parse_args()
    if not args.gold.exists():
        print(f"skipped: {args.gold} not found (pass the path of a labelled JSON Lines file)")
        return 0
    scorer = args.scorer or args.gold.with_name("score.py")
    classifier = Classifier.from_settings()
    rows = [json.loads(line) for line in args.gold.read_text(encoding="utf-8").splitlines() if line.strip()]
    started = time.perf_counter()
    results = [classifier.classify(to_item(row)).to_json(row.get("id")) for row in rows]
    elapsed = time.perf_counter() - started
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in results), encoding="utf-8")
    print(f"classified {len(rows)} items in {elapsed:.3f}s -> {args.out}")
    command = [sys.executable, str(scorer), "classify", str(args.gold), str(args.out)]
    if args.errors:
        command.append("--errors")
    return subprocess.run(command, check=False).returncode


if __name__ == "__main__":
    sys.exit(main())
