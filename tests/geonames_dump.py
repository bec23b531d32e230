"""Small GeoNames dump files made up by the tests (and, at scale, by bench/gazetteer_import.py).

Every name is invented from syllables; coordinates lie inside the given box. The layout is GeoNames'
own (readme.txt of the export site): 19 tab-separated columns for a geoname table, four for admin
codes, ten for alternateNamesV2.
"""

from __future__ import annotations

import random
import zipfile
from dataclasses import dataclass
from pathlib import Path

_SYLLABLES = ("va", "ro", "tesh", "kel", "mir", "dan", "zu", "pol", "gar", "nik", "sol", "bre", "tor", "vin",
              "lak", "osh", "fen", "ru", "sta", "mel")


@dataclass(frozen=True)
class Place:
    geonameid: int
    name: str
    lat: float
    lon: float
    fclass: str = "P"
    fcode: str = "PPL"
    country: str = "AM"
    admin1: str = "01"
    admin2: str = ""
    population: int = 0
    alternates: tuple[str, ...] = ()

    def line(self) -> str:
        cols = [str(self.geonameid), self.name, self.name, ",".join(self.alternates), f"{self.lat:.5f}",
                f"{self.lon:.5f}", self.fclass, self.fcode, self.country, "", self.admin1, self.admin2, "", "",
                str(self.population), "", "1000", "Asia/Yerevan", "2024-01-01"]
        return "\t".join(cols)


def table(places: list[Place]) -> str:
    return "".join(p.line() + "\n" for p in places)


def write_zip(path: Path, member: str, text: str) -> Path:
    """A zip archive like GeoNames' XX.zip: the table and a readme."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(member, text)
        z.writestr("readme.txt", "made up by the tests\n")
    return path


def invented_name(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))).capitalize()


def country_dump(rows: int, *, country: str = "AM", seed: int = 7, box: tuple[float, float, float, float] = (
        38.9, 41.2, 43.5, 46.6)) -> list[Place]:
    """`rows` places of one made-up country file: 4 provinces, 10 districts each, villages with a
    few alternate names (one Cyrillic), some non-settlement rows (streams, hills) as real dumps have."""
    rng = random.Random(seed)
    south, north, west, east = box
    out: list[Place] = []
    gid = 9_000_000
    for a1 in range(1, 5):
        gid += 1
        out.append(Place(gid, f"{invented_name(rng)} Province", rng.uniform(south, north), rng.uniform(west, east),
                         "A", "ADM1", country, f"{a1:02d}"))
        for a2 in range(1, 11):
            gid += 1
            out.append(Place(gid, f"{invented_name(rng)} District", rng.uniform(south, north),
                             rng.uniform(west, east), "A", "ADM2", country, f"{a1:02d}", f"{a1}{a2:02d}"))
    while len(out) < rows:
        gid += 1
        name = invented_name(rng)
        kind = rng.random()
        fclass, fcode = ("P", "PPL") if kind < 0.6 else ("H", "STM") if kind < 0.8 else ("T", "HLL")
        a1 = rng.randint(1, 4)
        out.append(Place(gid, name, rng.uniform(south, north), rng.uniform(west, east), fclass, fcode, country,
                         f"{a1:02d}", f"{a1}{rng.randint(1, 10):02d}", rng.choice((0, 0, 0, 120, 850, 4200)),
                         (f"{name}i", f"{name}ovo", "Ново" + name.lower())))
    return out[:rows]
