"""Throughput and start-up time of the classifier, on real texts, each beside same-run baselines.

    taskset -c 0 .venv/bin/python -m bench.classify_speed [--items 5000]

Columns: the texts of the evaluation set's dev.jsonl, the items of its snapshot feeds (real bytes
parsed by parse_feed; see bench/real_text.py) and, as an extra column only, generated headline+summary
items. Each column is cycled to --items items. Rows, timed in the same run on the same items:
`str.lower` (the floor of any text processing), one plain regex scan for conflict keywords (what a
naive keyword filter costs), and Classifier.classify; for the snapshot column also feedparser.parse
of the same bytes (items/s). The place stage (places.extract_places, timed at its call inside classify,
on the items a label fires on) is given in texts per CPU second and as its share of classify's time.
Figures are items per CPU second of this process (steadier than the wall clock on a shared machine;
wall-clock figures beside them); compare machines by the ratios.
Start-up is measured in a fresh interpreter: import plus Classifier.from_settings(), beside the
bare interpreter's start.
"""

from __future__ import annotations

import argparse
import functools
import io
import itertools
import random
import re
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import feedparser

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.real_text import dev_items, snapshot_items, snapshots
from monitor.models import FeedItem
from monitor.reading import places
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
KEYWORDS = re.compile(r"\b(?:shell\w*|strike\w*|clash\w*|ceasefire|mortar\w*|drone\w*|обстрел\w*|удар\w*)\b",
                      re.IGNORECASE)


def make_items(n: int, relevant_share: float = 0.3, seed: int = 7) -> list[FeedItem]:
    """Generated items (the extra column): 30 % conflict reports built from a few hundred phrases."""
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


def rate(fn: Callable[[FeedItem], object], items: list[FeedItem]) -> tuple[float, float]:
    """(items per CPU second, items per wall-clock second)."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    return len(items) / (time.process_time() - cpu), len(items) / (time.perf_counter() - wall)


def place_stage(classifier: Classifier, items: list[FeedItem]) -> tuple[float, float]:
    """Classify `items` with places.extract_places timed at its call in classify: (texts per CPU second
    of the place stage, the place stage's share of classify's CPU time)."""
    real = places.extract_places
    spent, calls = [0.0], [0]

    def timed(*args: Any, **kwargs: Any) -> places.FoundPlaces:
        start = time.process_time()
        try:
            return real(*args, **kwargs)
        finally:
            spent[0] += time.process_time() - start
            calls[0] += 1

    places.extract_places = timed
    try:
        cpu = time.process_time()
        for item in items:
            classifier.classify(item)
        total = time.process_time() - cpu
    finally:
        places.extract_places = real
    return calls[0] / max(spent[0], 1e-9), spent[0] / max(total, 1e-9)


def feedparser_rate(repeat: int) -> tuple[float, float]:
    """feedparser.parse over every snapshot poll's bytes, `repeat` times: (items/s CPU, wall)."""
    polls = snapshots()
    wall, cpu, n = time.perf_counter(), time.process_time(), 0
    for _ in range(repeat):
        for snap in polls:
            n += len(feedparser.parse(io.BytesIO(snap.body), response_headers=snap.headers).entries)
    return n / (time.process_time() - cpu), n / (time.perf_counter() - wall)


def startup_seconds(code: str) -> float:
    """Best of three fresh interpreters running `code` (which prints its own elapsed time)."""
    root = Path(__file__).resolve().parent.parent
    runs = [float(subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True,
                                 check=True).stdout.strip()) for _ in range(3)]
    return min(runs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--items", type=int, default=5000, help="items per column (each set is cycled to this)")
    args = ap.parse_args()
    columns = {"dev.jsonl texts": dev_items(), "snapshot items": snapshot_items(),
               "generated (extra)": make_items(args.items)}
    for name in [k for k, v in columns.items() if not v]:
        print(f"{name}: not found (../shared/eval or $MONITOR_EVAL_DIR); column left out")
        del columns[name]
    classifier = Classifier.from_settings()
    # per-language indexes are built on first use (one for texts with a period before a digit, one without)
    for warm_up in ("Shelling hit the town.", "Обстрел города.", "Shells hit 1.5 km away.", "Обстрел в 1.5 км."):
        classifier.classify(FeedItem(title="warm-up", text=warm_up))
    print(f"{args.items} items per column, cycled; items/s per CPU second (wall clock in brackets), one process")
    header = f"{'':26}" + "".join(f"{name:>30}" for name in columns)
    print(header)
    table: dict[str, dict[str, tuple[float, float]]] = {}
    shares: dict[str, tuple[float, float]] = {}
    for name, distinct in columns.items():
        items = list(itertools.islice(itertools.cycle(distinct), args.items))
        table.setdefault("str.lower", {})[name] = rate(lambda it: (it.title + " " + it.text).lower(), items)
        table.setdefault("keyword regex scan", {})[name] = rate(lambda it: KEYWORDS.findall(it.title + " " + it.text),
                                                               items)
        table.setdefault("Classifier.classify", {})[name] = rate(classifier.classify, items)
        shares[name] = place_stage(classifier, items)
    if "snapshot items" in columns:
        repeat = max(1, args.items // max(1, len(columns["snapshot items"])))
        table["feedparser.parse, same bytes"] = {"snapshot items": feedparser_rate(repeat)}
    for row, cells in table.items():
        print(f"{row:26}" + "".join(f"{_cell(cells.get(name)):>30}" for name in columns))
    print(f"{'classify / keyword scan':26}" + "".join(
        f"{table['Classifier.classify'][n][0] / table['keyword regex scan'][n][0]:>30.4f}" for n in columns))
    print(f"{'place stage, texts/CPU-s':26}" + "".join(f"{shares[n][0]:>30,.0f}" for n in columns))
    print(f"{'place stage share':26}" + "".join(f"{shares[n][1]:>30.1%}" for n in columns))
    for name, distinct in columns.items():
        relevant = sum(classifier.classify(it).relevant for it in distinct)
        print(f"  {name}: {len(distinct)} distinct items, {relevant} classified relevant")
    stage_rows(classifier, {k: v for k, v in columns.items() if k != "generated (extra)"}, args.items)
    bare = startup_seconds("import time; t = time.perf_counter(); import json; print(time.perf_counter() - t)")
    ours = startup_seconds("import time; t = time.perf_counter(); from monitor.reading.classify import Classifier; "
                           "Classifier.from_settings(); print(time.perf_counter() - t)")
    print(f"start-up, import + Classifier.from_settings() in a fresh interpreter: {ours:.2f} s "
          f"(best of 3; import json alone: {bare:.3f} s)")
    return 0


def stage_rows(classifier: Classifier, columns: dict[str, list[FeedItem]], n: int) -> None:
    """CPU time of each stage of Classifier.classify (the same calls classify makes, timed one by
    one), per item, and its share of the stages' sum: which stage to make faster next."""
    from monitor.reading import casualties, dates, places
    from monitor.reading import classify as c
    from monitor.reading.actors import armed_groups
    from monitor.reading.rules import lower_text

    shares: dict[str, dict[str, tuple[float, float]]] = {}
    for name, distinct in columns.items():
        spent: dict[str, float] = {}
        timed = functools.partial(_timed, spent)
        items = list(itertools.islice(itertools.cycle(distinct), n))
        for item in items:
            lang = c.detect_lang(item, tuple(classifier._rules.languages))
            rules, text = classifier._rules.for_lang(lang), c._join(item.title, item.text)
            year = item.published_at.year if item.published_at else None
            lowered = timed("rules (label matches)", lower_text, text)  # shared by the stages below
            hits, scanned = timed("rules (label matches)", c._label_hits, rules, text, year, lowered)
            groups = timed("decide + relevance", c._group, hits)
            labels, why = timed("decide + relevance", classifier._decide_groups, groups)
            labels, _ = timed("decide + relevance", classifier.relevant_labels, lang, text, hits, groups, labels, why)
            if not labels:
                continue
            attack_at = [h.at for h in hits if h.attack]
            found = timed("places", places.extract_places, text, lang, classifier._gazetteer,
                          classifier._choices.place, attack_at)
            timed("casualties", casualties.extract_casualties, text, lang, classifier._choices.casualty, year,
                  attack_at, lowered)
            local = timed("dates", c._local_publication, item.published_at, found.primary)
            timed("dates", dates.resolve_event_date, text, lang, local, lowered)
            timed("actors", armed_groups, text, lowered)
            timed("weapons", c._weapons, rules, text, scanned, lowered)
        total = sum(spent.values())
        for stage, seconds in spent.items():
            shares.setdefault(stage, {})[name] = (seconds / len(items) * 1e6, seconds / total)
    print("classify by stage: CPU µs per item (share of the stages' sum)")
    print(f"{'':26}" + "".join(f"{name:>30}" for name in columns))
    for stage, cells in shares.items():
        print(f"{stage:26}" + "".join(f"{f'{cells[k][0]:,.0f} ({cells[k][1]:.1%})' if k in cells else '-':>30}"
                                     for k in columns))


def _timed(spent: dict[str, float], stage: str, fn: Callable[..., Any], *args: Any) -> Any:
    """fn(*args), its CPU time added to spent[stage]."""
    start = time.process_time()
    out = fn(*args)
    spent[stage] = spent.get(stage, 0.0) + time.process_time() - start
    return out


def _cell(value: tuple[float, float] | None) -> str:
    return "-" if value is None else f"{value[0]:,.0f} ({value[1]:,.0f})"


if __name__ == "__main__":
    sys.exit(main())
