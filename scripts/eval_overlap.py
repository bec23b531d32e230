#!/usr/bin/env python3
"""Evaluation hygiene: word 6-grams the repository shares with the labelled evaluation texts.

    .venv/bin/python scripts/eval_overlap.py [--eval-dir ../shared/eval] [--n 6] [DIR ...]

Reads the title and text of every item of the eval directory's *.jsonl files and every text file
under DIR (default: monitor tests bench scripts), and prints each line of the repository where
a run of N words begins, (lower-cased, punctuation ignored) also found in an evaluation item, with
the item's id. Runs of common words only (no word of four or more letters outside a stock list)
are not reported. Exit status 1 when anything is found, so it can gate a commit.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_SUFFIXES = {".py", ".toml", ".json", ".md", ".txt", ".html", ".js", ".css", ".cfg", ".ini", ".yaml", ".yml"}
# Word runs that any text about conflict shares; a run made of these alone is not a copy.
_STOCK = frozenset("""the and for with from that this were was have has had said says into over after
their they them about near killed wounded people were been which when where while more than least""".split())


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


def grams(tokens: list[str], n: int) -> list[tuple[str, ...]]:
    return [tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1)]


def telling(gram: tuple[str, ...]) -> bool:
    """Whether a run has a word that is neither short nor stock: only such runs can be a copy."""
    return any(len(w) >= 4 and w not in _STOCK and not w.isdigit() for w in gram)


def eval_grams(eval_dir: Path, n: int) -> dict[tuple[str, ...], str]:
    out: dict[tuple[str, ...], str] = {}
    for path in sorted(eval_dir.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            row = json.loads(line)
            text = f"{row.get('title') or ''}\n{row.get('text') or ''}"
            for gram in grams(words(text), n):
                out.setdefault(gram, str(row.get("id")))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dirs", nargs="*", type=Path,
                    default=[Path(d) for d in ("monitor", "tests", "bench", "scripts")])
    ap.add_argument("--eval-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "eval")
    ap.add_argument("--n", type=int, default=6)
    args = ap.parse_args()
    if not args.eval_dir.is_dir():
        print(f"{args.eval_dir}: no such directory (pass --eval-dir)", file=sys.stderr)
        return 2
    known = eval_grams(args.eval_dir, args.n)
    found = 0
    for root in args.dirs:
        for path in sorted(p for p in root.rglob("*") if p.is_file() and p.suffix in _SUFFIXES):
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                continue
            # Words of the whole file, each with its line: a copied sentence may be split over lines.
            tokens = [(w.lower(), number) for number, line in enumerate(lines, 1) for w in _WORD.findall(line)]
            by_line: dict[int, set[str]] = {}
            for i in range(len(tokens) - args.n + 1):
                gram = tuple(t for t, _ in tokens[i:i + args.n])
                if gram in known and telling(gram):
                    by_line.setdefault(tokens[i][1], set()).add(known[gram])
            for number, ids in sorted(by_line.items()):
                found += 1
                print(f"{path}:{number}: {', '.join(sorted(ids)[:3])}: {lines[number - 1].strip()[:110]}")
    print(f"{found} line(s) begin a {args.n}-word run with an evaluation item", file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
