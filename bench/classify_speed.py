"""Throughput and start-up time of the classifier, on generated headline+summary items.

    .venv/bin/python bench/classify_speed.py [--items N] [--relevant-share 0.3]

Prints items/s of Classifier.classify, and in the same run two baselines on the same texts:
`str.lower` (the floor of any text processing) and one plain regex scan for conflict keywords (what
a naive keyword filter costs), so figures from different machines can be compared by ratio. Start-up
is measured in a fresh interpreter: import plus Classifier.from_settings().
"""

from __future__ import annotations

import argparse
import random
import re
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.models import FeedItem
from monitor.reading.classify import Classifier

PLACES = ["Jermuk", "Donetsk", "Kharkiv", "Khan Younis", "Sotk", "Poonch", "El Fasher", "Tyre", "Avdiivka"]
ACTORS = ["Azerbaijani forces", "Russian troops", "the army", "rebels", "Israeli jets", "RSF fighters"]
ATTACKS = ["shelled positions near", "fired mortars at", "launched drone strikes on", "clashed with troops in",
           "violated the ceasefire near", "pounded residential areas of"]
NEUTRAL = ["Central bank raises rates as inflation bites", "Local team wins the cup after a tense final",
           "Parliament debates the new budget", "Storm brings heavy rain to the coast",
           "Minister visits factory to open new production line", "Tech company unveils new phone"]
FILLER = ("Officials said the situation remained tense and more details would be released later. "
          "The report could not be independently verified. Residents described hearing loud noises.")
RU = ["Азербайджанские военные обстреляли позиции у села Сотк", "ВСУ нанесли удар беспилотником по Горловке"]


def make_items(n: int, relevant_share: float, seed: int = 7) -> list[FeedItem]:
    rng = random.Random(seed)
    published = datetime(2022, 9, 14, 8, tzinfo=UTC)
    items = []
    for i in range(n):
        if rng.random() < relevant_share:
            if i % 5 == 0:
                title, lang = rng.choice(RU), "ru"
            else:
                title = f"{rng.choice(ACTORS)} {rng.choice(ATTACKS)} {rng.choice(PLACES)}"
                lang = "en"
            text = f"{title} on Tuesday, killing {rng.randint(1, 9)} people and wounding {rng.randint(1, 20)}. {FILLER}"
        else:
            title, lang = rng.choice(NEUTRAL), "en"
            text = f"{title}. {FILLER}"
        items.append(FeedItem(title=title, text=text, published_at=published, lang=lang))
    return items


def rate(fn: object, items: list[FeedItem]) -> tuple[float, float]:
    """(items per wall-clock second, items per CPU second): on a shared, loaded machine the CPU
    figure is the steadier one."""
    assert callable(fn)
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.perf_counter() - wall), len(items) / (time.process_time() - cpu)


def startup_seconds() -> float:
    code = ("import time; t = time.perf_counter(); from monitor.reading.classify import Classifier; "
            "Classifier.from_settings(); print(time.perf_counter() - t)")
    root = Path(__file__).resolve().parent.parent
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return float(out.stdout.strip())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--relevant-share", type=float, default=0.3)
    args = ap.parse_args()
    items = make_items(args.items, args.relevant_share)
    classifier = Classifier.from_settings()
    keywords = re.compile(r"\b(?:shell\w*|strike\w*|clash\w*|ceasefire|mortar\w*|drone\w*|обстрел\w*|удар\w*)\b",
                          re.IGNORECASE)
    classifier.classify(items[0])  # warm caches (lazy regex compilation, gazetteer pages)
    results = {
        "str.lower": rate(lambda it: (it.title + " " + it.text).lower(), items),
        "keyword regex scan": rate(lambda it: keywords.findall(it.title + " " + it.text), items),
        "Classifier.classify": rate(classifier.classify, items),
    }
    relevant = sum(classifier.classify(it).relevant for it in items)
    print(f"{len(items)} generated items ({relevant} classified relevant), one core")
    for name, (wall, cpu) in results.items():
        print(f"  {name:22} {wall:12,.0f} items/s wall-clock {cpu:12,.0f} items/s CPU")
    ratio = results["Classifier.classify"][1] / results["keyword regex scan"][1]
    print(f"  classify / keyword scan (CPU): {ratio:.3f}")
    print(f"start-up (import + Classifier.from_settings, fresh interpreter): {startup_seconds():.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
